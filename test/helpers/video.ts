import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Box } from '../../src/shared/face.types';

/** What the video tests share: a face crop to enrol from a photo, and the ffmpeg processes this test process started. */

/** The face `b` of `photo` with a margin around it, as a JPEG to enrol (the enrolled crop beside a clip made of that photo). */
export async function faceCrop(photo: Buffer, b: Box, margin = 0.35): Promise<Buffer> {
  const { width, height } = await sharp(photo).metadata();
  const left = Math.max(0, Math.round(b.x - b.width * margin));
  const top = Math.max(0, Math.round(b.y - b.height * margin));
  const w = Math.min(width! - left, Math.round(b.width * (1 + 2 * margin)));
  const h = Math.min(height! - top, Math.round(b.height * (1 + 2 * margin)));
  return sharp(photo).extract({ left, top, width: w, height: h }).jpeg({ quality: 92 }).toBuffer();
}

/** ffmpeg processes whose parent is this process (the decoder's children), read from /proc (Linux only). */
export function decoderPids(): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const ppid = Number(fs.readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      return path.basename(argv[0]!) === 'ffmpeg' && ppid === process.pid ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}
