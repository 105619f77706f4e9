import type { RawImage } from './decode';

/**
 * Pixel operations on packed 8-bit RGB images in plain JS (no tensors): the ONNX pipeline only ever holds the decoded image,
 * a few small resampled copies and float inputs of the nets' own sizes (320x240, 64x64, 112x112), so memory stays bounded by
 * the decoded image however large the faces or the canvas.
 */

/** Output pixel (x, y) samples input pixel (a0·x + a1·y + a2, b0·x + b1·y + b2): the convention of align.ts's chipTransform. */
export type Affine = readonly [number, number, number, number, number, number];

/** Bilinear sample of an RGB image through `m`, `outW`x`outH` RGB out; outside the image is `fill` (0-255, every channel). */
export function warpAffine(src: RawImage, m: Affine, outW: number, outH: number, fill = 0): Uint8Array {
  const { data, width: w, height: h } = src;
  const out = new Uint8Array(outW * outH * 3);
  const [a0, a1, a2, b0, b1, b2] = m;
  const rowStride = w * 3;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++, o += 3) {
      const sx = a0 * x + a1 * y + a2;
      const sy = b0 * x + b1 * y + b2;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w10 = fx * (1 - fy);
      const w01 = (1 - fx) * fy;
      const w11 = fx * fy;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
        // Fast path: all four neighbours inside.
        const i = y0 * rowStride + x0 * 3;
        const j = i + rowStride;
        out[o] = data[i]! * w00 + data[i + 3]! * w10 + data[j]! * w01 + data[j + 3]! * w11 + 0.5;
        out[o + 1] = data[i + 1]! * w00 + data[i + 4]! * w10 + data[j + 1]! * w01 + data[j + 4]! * w11 + 0.5;
        out[o + 2] = data[i + 2]! * w00 + data[i + 5]! * w10 + data[j + 2]! * w01 + data[j + 5]! * w11 + 0.5;
        continue;
      }
      const inside = (xx: number, yy: number) => xx >= 0 && yy >= 0 && xx < w && yy < h;
      for (let c = 0; c < 3; c++) {
        const p = (xx: number, yy: number) => (inside(xx, yy) ? data[(yy * w + xx) * 3 + c]! : fill);
        out[o + c] = p(x0, y0) * w00 + p(x0 + 1, y0) * w10 + p(x0, y0 + 1) * w01 + p(x0 + 1, y0 + 1) * w11 + 0.5;
      }
    }
  }
  return out;
}

/** Mirror image (left-right) of a packed RGB image. */
export function flipHorizontal(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      const d = (y * width + (width - 1 - x)) * 3;
      out[d] = rgb[s]!;
      out[d + 1] = rgb[s + 1]!;
      out[d + 2] = rgb[s + 2]!;
    }
  }
  return out;
}

/** How a net wants its pixels: channel order, (x − mean) / std per channel in that order, planar (NCHW) or interleaved (NHWC). */
export interface InputConvention {
  channels: 'rgb' | 'bgr';
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  layout: 'nchw' | 'nhwc';
}

/** A packed RGB image as a float32 net input of one batch, in `conv`'s convention. */
export function toInputTensor(rgb: Uint8Array, width: number, height: number, conv: InputConvention): Float32Array {
  const n = width * height;
  const out = new Float32Array(n * 3);
  const order = conv.channels === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  for (let c = 0; c < 3; c++) {
    const src = order[c]!;
    const mean = conv.mean[c]!;
    const inv = 1 / conv.std[c]!;
    for (let i = 0; i < n; i++) {
      const v = (rgb[i * 3 + src]! - mean) * inv;
      if (conv.layout === 'nchw') out[c * n + i] = v;
      else out[i * 3 + c] = v;
    }
  }
  return out;
}

/** A face-free patterned RGB image for warming up a pipeline (every stage runs once on it). */
export function warmUpImage(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
  return { data, width, height };
}
