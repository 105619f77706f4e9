import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Box } from '../../src/shared/face.types';

/**
 * Video clips for the tests and scripts/video-bench.ts, made by ffmpeg itself from real photos: each frame a window of a photo cut and scaled
 * with sharp (a pan and zoom over one face), the frames encoded as a clip. Nothing is kept on disk.
 */

/** Whether ffmpeg and ffprobe run here; tests of the video path skip, saying so, when they do not. */
export function hasFfmpeg(): boolean {
  const ok = ['ffmpeg', 'ffprobe'].every((exe) => spawnSync(exe, ['-hide_banner', '-version'], { encoding: 'utf8' }).status === 0);
  if (!ok) process.stderr.write('note: ffmpeg/ffprobe are not installed here; the video search tests are skipped (apt-get install ffmpeg).\n');
  return ok;
}

/**
 * `n` frames of `size` panning and zooming over `face` in `photo`: the window starts at `zoom[0]` face widths wide and ends at
 * `zoom[1]`, its centre moving `pan` face widths from left to right across the face.
 */
export async function panZoomFrames(photo: Buffer, face: Box, n: number, opts: { size?: { width: number; height: number }; zoom?: [number, number]; pan?: number } = {}): Promise<Buffer[]> {
  const { width: W, height: H } = await sharp(photo).metadata();
  const size = opts.size ?? { width: 640, height: 480 };
  const [z0, z1] = opts.zoom ?? [3, 2];
  const pan = opts.pan ?? 0.6;
  const aspect = size.width / size.height;
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const t = n > 1 ? i / (n - 1) : 0;
    const w = Math.min(W!, Math.round(face.width * (z0 + (z1 - z0) * t)));
    const h = Math.min(H!, Math.round(w / aspect));
    const cx = face.x + face.width / 2 + face.width * pan * (t - 0.5);
    const cy = face.y + face.height / 2;
    const left = Math.max(0, Math.min(W! - w, Math.round(cx - w / 2)));
    const top = Math.max(0, Math.min(H! - h, Math.round(cy - h / 2)));
    frames.push(await sharp(photo).extract({ left, top, width: w, height: h }).resize(size.width, size.height, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer());
  }
  return frames;
}

/**
 * Frames encoded at `fps`: H.264 in MP4 (default) or VP8 in WebM. `variableRate`: the first half of the frames at `fps`, the
 * second half three times as far apart (a variable-frame-rate clip, as phones record).
 */
export function encodeClip(frames: Buffer[], fps: number, format: 'mp4' | 'webm' = 'mp4', variableRate = false): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facematch-clip-'));
  try {
    frames.forEach((f, i) => fs.writeFileSync(path.join(dir, `f-${String(i).padStart(5, '0')}.jpg`), f));
    const codec = format === 'mp4' ? ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'] : ['-c:v', 'libvpx', '-b:v', '1M', '-deadline', 'realtime', '-cpu-used', '8'];
    const out = path.join(dir, `clip.${format}`);
    const half = Math.floor(frames.length / 2);
    const vfr = variableRate ? ['-vf', `setpts='if(lt(N,${half}),N,${half}+(N-${half})*3)/${fps}/TB'`, '-fps_mode', 'vfr', '-enc_time_base', '1/1000'] : [];
    ffmpeg(['-framerate', String(fps), '-i', path.join(dir, 'f-%05d.jpg'), ...vfr, ...codec, out]);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A clip from ffmpeg's own sources (`-f lavfi`), e.g. `['-f', 'lavfi', '-i', 'sine=d=2', '-c:a', 'aac']`, as `ext`. */
export function lavfiClip(args: string[], ext: string): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facematch-clip-'));
  try {
    const out = path.join(dir, `clip.${ext}`);
    ffmpeg([...args, out]);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function ffmpeg(args: string[]) {
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}
