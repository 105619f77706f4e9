import { eyeCentres, noseAndMouth, type Point } from './quality';

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
  // The points' box in the eye-level frame (rotated by -angle about the eye midpoint).
  let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
  if (landmarks.length === 5) {
    // Five points say nothing of the jaw and brows the 68-point box spans: use the box such faces have on average.
    const { mouth } = noseAndMouth(landmarks);
    const d = Math.hypot(mouth.x - o.x, mouth.y - o.y);
    const half = (FIVE_POINT_BOX.side * d) / 2;
    [minX, maxX, minY, maxY] = [-half, half, FIVE_POINT_BOX.below * d - half, FIVE_POINT_BOX.below * d + half];
  } else {
    for (const p of landmarks) {
      const x = (p.x - o.x) * cos + (p.y - o.y) * sin;
      const y = -(p.x - o.x) * sin + (p.y - o.y) * cos;
      [minX, maxX, minY, maxY] = [Math.min(minX, x), Math.max(maxX, x), Math.min(minY, y), Math.max(maxY, y)];
    }
  }
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

/**
 * The 68-point box of an average face from its five points, for chips of five-point landmarks: in the eye-level frame, with
 * d = the distance from the eye midpoint to the mouth midpoint, a square of side 2.13·d centred 0.675·d below the eye
 * midpoint (medians over 300 LFW faces' 68 landmarks; 10th-90th percentiles 1.99-2.39·d and 0.60-0.77·d), so a five-point
 * chip frames the face as a 68-point one does and the quality thresholds measured on those chips keep their meaning.
 */
export const FIVE_POINT_BOX = { side: 2.13, below: 0.675 } as const;

/** Box area, for "largest face first". */
export const area = (b: { width: number; height: number }) => b.width * b.height;

/**
 * Where the face is in a chip of the reviewer-crop geometry (`chipTransform` with CHIP_PADDING), for analysing a chip without
 * detection: the landmark box is the central 1 / (1 + 2·padding) of the side; the box handed to the landmark net is that
 * square widened by `FACE_BOX_SCALE` and shifted up by `FACE_BOX_LIFT` of its side, since detectors (whose boxes the landmark
 * nets were trained on) frame the forehead too. Measured with scripts/chip-embedding-check.ts (docs/federation.md).
 */
export const FACE_BOX_SCALE = 1.1;
export const FACE_BOX_LIFT = 0.05;

export function chipFaceBox(width: number, height: number, padding = CHIP_PADDING): { x: number; y: number; width: number; height: number } {
  const side = Math.min(width, height);
  const inner = (side / (1 + 2 * padding)) * FACE_BOX_SCALE;
  return { x: (width - inner) / 2, y: (height - inner) / 2 - FACE_BOX_LIFT * inner, width: inner, height: inner };
}
