import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A CCTV-like still made from real photos: `faces` (JPEG crops, each holding one face, e.g. from face-api's demo photos) shrunk
 * to `faceWidth` px and pasted on a large, softened background photo (one with no face of its own) at known places. For measuring (detect-compare) and
 * testing (model tests) detection of small faces in large frames, where a detector's whole-image look cannot see them.
 */
export async function smallFacesScene(
  background: Buffer,
  faces: Buffer[],
  opts: { width?: number; height?: number; faceWidth?: number; portrait?: Buffer; portraitWidth?: number } = {},
): Promise<{ image: Buffer; boxes: Box[]; portraitBox?: Box }> {
  const width = opts.width ?? 2400;
  const height = opts.height ?? 1600;
  const faceWidth = opts.faceWidth ?? 56;
  // With a portrait: one large face (portraitWidth px wide, default 400) in a strip of its own right of the small faces.
  const portraitWidth = opts.portraitWidth ?? 400;
  const strip = opts.portrait ? Math.round(portraitWidth * 1.5) : 0;
  const bg = await sharp(background).resize(width + strip, height, { fit: 'cover' }).blur(3).modulate({ brightness: 0.85 }).toBuffer();
  const cols = Math.ceil(Math.sqrt(faces.length * 1.5));
  const boxes: Box[] = [];
  const layers: OverlayOptions[] = [];
  for (const [i, f] of faces.entries()) {
    const small = await sharp(f).resize({ width: faceWidth }).jpeg({ quality: 90 }).toBuffer();
    const meta = await sharp(small).metadata();
    // Spread over the frame on a jittered grid, away from the edges.
    const cx = Math.round(((i % cols) + 0.5 + 0.2 * Math.sin(i * 2.3)) * (width / cols));
    const cy = Math.round((Math.floor(i / cols) + 0.5 + 0.2 * Math.cos(i * 1.7)) * (height / Math.ceil(faces.length / cols)));
    const left = Math.min(width - meta.width!, Math.max(0, cx - Math.round(meta.width! / 2)));
    const top = Math.min(height - meta.height!, Math.max(0, cy - Math.round(meta.height! / 2)));
    layers.push({ input: small, left, top });
    boxes.push({ x: left, y: top, width: meta.width!, height: meta.height! });
  }
  let portraitBox: Box | undefined;
  if (opts.portrait) {
    const big = await sharp(opts.portrait).resize({ width: portraitWidth }).jpeg({ quality: 90 }).toBuffer();
    const meta = await sharp(big).metadata();
    portraitBox = { x: width + Math.round((strip - meta.width!) / 2), y: Math.max(0, Math.round((height - meta.height!) / 2)), width: meta.width!, height: Math.min(meta.height!, height) };
    layers.push({ input: await sharp(big).extract({ left: 0, top: 0, width: meta.width!, height: portraitBox.height }).toBuffer(), left: portraitBox.x, top: portraitBox.y });
  }
  return { image: await sharp(bg).composite(layers).jpeg({ quality: 88 }).toBuffer(), boxes, ...(portraitBox ? { portraitBox } : {}) };
}

/** The lower part of face-api's demo photo 2 (a sofa, legs, a phone): real photo texture with no face in it. */
export async function faceFreeBackground(demoDir: string): Promise<Buffer> {
  const photo = path.join(demoDir, 'sample2.jpg');
  const meta = await sharp(photo).metadata();
  const top = Math.round(meta.height! * 0.62);
  return sharp(photo).extract({ left: 0, top, width: meta.width!, height: meta.height! - top }).jpeg().toBuffer();
}

/** A hit per pasted face: a detection whose centre lies inside the pasted crop (the crop has a margin around its face). */
export function countHits(found: Box[], pasted: Box[]): number {
  const used = new Set<number>();
  let hits = 0;
  for (const t of pasted) {
    const i = found.findIndex((b, j) => !used.has(j) && b.x + b.width / 2 > t.x && b.x + b.width / 2 < t.x + t.width && b.y + b.height / 2 > t.y && b.y + b.height / 2 < t.y + t.height);
    if (i >= 0) {
      used.add(i);
      hits++;
    }
  }
  return hits;
}
