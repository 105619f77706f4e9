import { eyeCentres, type Point } from './quality';

/**
 * Face-chip geometry (pure math, no tfjs). The chip reproduces face-api's own crop for the recognition net — the bounding box of
 * the 68 landmarks padded by 20% on each side, then made square around its centre — but in a frame rotated so the eyes are level
 * (face-api crops axis-aligned, so a tilted head reaches the net tilted). The image around the box fills the square instead of
 * face-api's black bars.
 */
export const CHIP_PADDING = 0.2;

/**
 * tf.image.transform's projective matrix [a0, a1, a2, b0, b1, b2, 0, 0] mapping output pixel (x, y) of a `size`x`size` chip to
 * input pixel (a0·x + a1·y + a2, b0·x + b1·y + b2). `rotate: false` gives face-api's axis-aligned geometry.
 */
export function chipTransform(landmarks: Point[], size: number, rotate = true, padding = CHIP_PADDING): number[] {
  const { left, right } = eyeCentres(landmarks);
  const angle = rotate ? Math.atan2(right.y - left.y, right.x - left.x) : 0;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const o = { x: (left.x + right.x) / 2, y: (left.y + right.y) / 2 };
  // Landmarks in the eye-level frame (rotated by -angle about the eye midpoint).
  const rot = landmarks.map((p) => ({
    x: (p.x - o.x) * cos + (p.y - o.y) * sin,
    y: -(p.x - o.x) * sin + (p.y - o.y) * cos,
  }));
  const xs = rot.map((p) => p.x);
  const ys = rot.map((p) => p.y);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const minY = Math.min(...ys);
  const maxY = Math.max(...ys);
  const w = (maxX - minX) * (1 + 2 * padding);
  const h = (maxY - minY) * (1 + 2 * padding);
  const side = Math.max(w, h);
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const scale = side / size;
  // Output (x, y) → frame point (cx - side/2 + x·scale, cy - side/2 + y·scale) → rotate back by +angle, translate by o.
  const fx0 = cx - side / 2;
  const fy0 = cy - side / 2;
  return [
    scale * cos,
    -scale * sin,
    o.x + fx0 * cos - fy0 * sin,
    scale * sin,
    scale * cos,
    o.y + fx0 * sin + fy0 * cos,
    0,
    0,
  ];
}

/** Box area, for "largest face first". */
export const area = (b: { width: number; height: number }) => b.width * b.height;
