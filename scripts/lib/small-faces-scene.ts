import sharp, { type OverlayOptions } from 'sharp';

/**
 * A CCTV-like still made from real photos: `faces` (JPEG crops, each holding one face, e.g. from face-api's demo photos) shrunk
 * to `faceWidth` px and pasted on a large, softened background photo (one with no face of its own) at known places. For measuring (detect-compare) and
 * testing (model tests) detection of small faces in large frames, where a detector's whole-image look cannot see them.
 */
export async function smallFacesScene(
  background: Buffer,
  faces: Buffer[],
  opts: { width?: number; height?: number; faceWidth?: number } = {},
): Promise<{ image: Buffer; boxes: { x: number; y: number; width: number; height: number }[] }> {
  const width = opts.width ?? 2400;
  const height = opts.height ?? 1600;
  const faceWidth = opts.faceWidth ?? 56;
  const bg = await sharp(background).resize(width, height, { fit: 'cover' }).blur(3).modulate({ brightness: 0.85 }).toBuffer();
  const cols = Math.ceil(Math.sqrt(faces.length * 1.5));
  const boxes: { x: number; y: number; width: number; height: number }[] = [];
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
  return { image: await sharp(bg).composite(layers).jpeg({ quality: 88 }).toBuffer(), boxes };
}
