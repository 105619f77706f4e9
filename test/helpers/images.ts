import zlib from 'node:zlib';
import sharp from 'sharp';

/** Test images derived from real photos (or generated) with sharp; nothing here is stored in the repository. */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A crop around `box` grown by `margin` (fraction of the box size on each side), clamped to the image, as JPEG q95. */
export async function cropFace(photo: Buffer, box: Rect, margin = 0.3): Promise<Buffer> {
  const meta = await sharp(photo).rotate().metadata();
  const W = meta.autoOrient?.width ?? meta.width!;
  const H = meta.autoOrient?.height ?? meta.height!;
  const left = Math.max(0, Math.round(box.x - box.width * margin));
  const top = Math.max(0, Math.round(box.y - box.height * margin));
  const width = Math.min(W - left, Math.round(box.width * (1 + 2 * margin)));
  const height = Math.min(H - top, Math.round(box.height * (1 + 2 * margin)));
  return sharp(photo).rotate().extract({ left, top, width, height }).jpeg({ quality: 95 }).toBuffer();
}

/** A plain generated image with no face in it. */
export function blankImage(width = 640, height = 480, colour = { r: 180, g: 170, b: 160 }, format: 'jpeg' | 'png' = 'jpeg') {
  const img = sharp({ create: { width, height, channels: 3, background: colour } });
  return (format === 'png' ? img.png() : img.jpeg()).toBuffer();
}

/**
 * The photo's pixels rotated so that, with EXIF `orientation` applied, they display as the original. Orientation 6 means
 * "rotate 90° clockwise to display", so the stored pixels are the original rotated 90° counter-clockwise.
 */
export async function withExifOrientation(photo: Buffer, orientation: 3 | 6 | 8): Promise<Buffer> {
  const undo = { 3: 180, 6: 270, 8: 90 }[orientation];
  const stored = await sharp(photo).rotate(undo).jpeg({ quality: 95 }).toBuffer();
  return sharp(stored).withMetadata({ orientation }).jpeg({ quality: 95 }).toBuffer();
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A small, well-formed PNG (valid CRCs) whose IHDR declares `width` x `height` 8-bit RGB pixels but whose IDAT holds only the
 * first few rows: a decompression bomb as far as any decoder that trusts the header is concerned.
 */
export function declaredHugePng(width: number, height: number, rows = 4): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(rows * (1 + width * 3)); // filter byte 0 + black pixels, per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
