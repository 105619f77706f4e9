import type { FaceQuality, QualityIssue } from '../../shared/face.types';

/**
 * Face quality from plain numbers and pixels (no tfjs), so every rule is unit-testable.
 *
 * Each check maps its measurement to a factor in [0, 1] that is 1 when comfortably good, exactly 0.5 at the issue threshold
 * and 0 when hopeless. The score is min(f)^0.7 · Π(f)^0.3: the weakest check dominates, mild problems accumulate. Consequence:
 * any face with an issue scores below 0.5 (the default enrolment/probe quality level), and a face with several near-threshold
 * measurements can score below 0.5 with no single issue named.
 */

export interface Point {
  x: number;
  y: number;
}

/** Thresholds (units in the comments). Exported so tests and tuning refer to the same numbers. */
export const QUALITY_THRESHOLDS = {
  /** Inter-eye distance in source-image pixels: below it the embedding is mostly guesswork (ISO 19794-5 asks for ≥ 60). */
  minInterEyePx: 20,
  goodInterEyePx: 60,
  /** Variance of the Laplacian of the 150x150 grey aligned chip, divided by the chip's grey variance (contrast-independent). */
  minSharpness: 0.015,
  goodSharpness: 0.05,
  /** |yaw| in degrees (estimated from the nose tip's offset between the eyes). */
  maxYawDeg: 35,
  goodYawDeg: 15,
  /** |pitch| in degrees (estimated from where the nose tip sits between the eye line and the mouth). */
  maxPitchDeg: 30,
  goodPitchDeg: 12,
  /** SSD detection confidence. */
  badDetectionScore: 0.3,
  minDetectionScore: 0.7,
  goodDetectionScore: 0.9,
  /** Mean luminance (0-255) of the chip: too dark below, too bright above; low contrast below minContrast (grey std dev). */
  minLuminance: 50,
  maxLuminance: 205,
  minContrast: 20,
} as const;

/** Piecewise-linear factor: 0 at `bad`, 0.5 at `threshold`, 1 at `good` (works for either direction). */
export function ramp(x: number, bad: number, threshold: number, good: number): number {
  const up = good > bad;
  if (up ? x >= good : x <= good) return 1;
  if (up ? x <= bad : x >= bad) return 0;
  if (up ? x < threshold : x > threshold) return (0.5 * (x - bad)) / (threshold - bad);
  return 0.5 + (0.5 * (x - threshold)) / (good - threshold);
}

/** Population variance of the 4-neighbour Laplacian over the interior pixels of a grey image (values 0-255). */
export function laplacianVariance(grey: ArrayLike<number>, width: number, height: number): number {
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const l = grey[i - 1]! + grey[i + 1]! + grey[i - width]! + grey[i + width]! - 4 * grey[i]!;
      sum += l;
      sumSq += l * l;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

export function meanAndStd(grey: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < grey.length; i++) {
    sum += grey[i]!;
    sumSq += grey[i]! * grey[i]!;
  }
  const n = Math.max(1, grey.length);
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) };
}

/** ITU-R BT.601 luma of packed RGB. */
export function rgbToGrey(rgb: ArrayLike<number>, pixels: number): Float32Array {
  const g = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) g[i] = 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!;
  return g;
}

const mid = (ps: Point[]): Point => ({ x: ps.reduce((s, p) => s + p.x, 0) / ps.length, y: ps.reduce((s, p) => s + p.y, 0) / ps.length });

/**
 * Landmark layouts the pipelines produce: the 68-point iBUG layout (landmark nets), or five points (a detector's own: eye
 * centres image-left then image-right, nose tip, mouth corners image-left then image-right, ArcFace's order).
 */
const isFivePoint = (lm: readonly Point[]) => lm.length === 5;

/** Eye centres: 68 points 36-41 (image-left eye) and 42-47 (image-right eye), or the five-point layout's first two. */
export function eyeCentres(lm: Point[]): { left: Point; right: Point } {
  if (isFivePoint(lm)) return { left: lm[0]!, right: lm[1]! };
  return { left: mid(lm.slice(36, 42)), right: mid(lm.slice(42, 48)) };
}

/** Nose tip and mouth centre: 68 points 30 and the mean of 48-67, or the five-point layout's nose and mouth-corner midpoint. */
export function noseAndMouth(lm: Point[]): { nose: Point; mouth: Point } {
  if (isFivePoint(lm)) return { nose: lm[2]!, mouth: mid(lm.slice(3, 5)) };
  return { nose: lm[30]!, mouth: mid(lm.slice(48, 68)) };
}

/**
 * Head pose from landmarks (68 or five points), in degrees, in the frame where the eyes are level (so in-plane roll does not leak in).
 * Yaw: the nose tip (30) sits ~0.6 inter-eye distances in front of the eye plane, so its sideways offset from the eye midpoint
 * is ≈ 0.6·tan(yaw) inter-eye distances. Pitch: in a frontal face the nose tip sits ≈ 0.55 of the way from the eye line to the
 * mouth centre (48-67); the deviation, scaled like yaw, gives a rough pitch. Landmark nets regress toward a frontal mean shape,
 * so both underestimate large angles: they are screening signals, not measurements.
 */
export function estimatePose(lm: Point[]): { yawDeg: number; pitchDeg: number; rollDeg: number; interEyePx: number } {
  const { left, right } = eyeCentres(lm);
  const dx = right.x - left.x;
  const dy = right.y - left.y;
  const ipd = Math.hypot(dx, dy) || 1;
  const ux = dx / ipd;
  const uy = dy / ipd;
  const eyeMid = { x: (left.x + right.x) / 2, y: (left.y + right.y) / 2 };
  const { nose, mouth } = noseAndMouth(lm);
  // Coordinates in the eye-aligned frame: u along the eye line, v perpendicular (downwards).
  const along = (p: Point) => (p.x - eyeMid.x) * ux + (p.y - eyeMid.y) * uy;
  const across = (p: Point) => -(p.x - eyeMid.x) * uy + (p.y - eyeMid.y) * ux;
  const yawDeg = (Math.atan(along(nose) / ipd / 0.6) * 180) / Math.PI;
  const mouthDrop = across(mouth) || 1;
  const noseFraction = across(nose) / mouthDrop;
  const pitchDeg = (Math.atan(((noseFraction - 0.55) * mouthDrop) / ipd / 0.6) * 180) / Math.PI;
  return { yawDeg, pitchDeg, rollDeg: (Math.atan2(dy, dx) * 180) / Math.PI, interEyePx: ipd };
}

export interface QualityMeasures {
  interEyePx: number;
  detectionScore: number;
  yawDeg: number;
  pitchDeg: number;
  /** Laplacian variance / grey variance on the aligned chip. */
  sharpness: number;
  luminanceMean: number;
  luminanceStd: number;
}

/** Measurements of one face: landmarks in source pixels, the grey aligned chip (any size; 150x150 in production). */
export function measureQuality(input: { landmarks: Point[]; detectionScore: number; chipGrey: ArrayLike<number>; chipSize: number }): QualityMeasures {
  const pose = estimatePose(input.landmarks);
  const { mean, std } = meanAndStd(input.chipGrey);
  const lap = laplacianVariance(input.chipGrey, input.chipSize, input.chipSize);
  return {
    interEyePx: pose.interEyePx,
    detectionScore: input.detectionScore,
    yawDeg: pose.yawDeg,
    pitchDeg: pose.pitchDeg,
    sharpness: std > 1e-6 ? lap / (std * std) : 0,
    luminanceMean: mean,
    luminanceStd: std,
  };
}

export type QualityThresholds = { readonly [K in keyof typeof QUALITY_THRESHOLDS]: number };

/** Each check's factor in [0, 1] (0.5 at its issue threshold), by the issue it names. */
export function qualityFactors(m: QualityMeasures, t: QualityThresholds = QUALITY_THRESHOLDS): Record<QualityIssue, number> {
  return {
    SMALL_FACE: ramp(m.interEyePx, t.minInterEyePx / 2, t.minInterEyePx, t.goodInterEyePx),
    BLUR: ramp(m.sharpness, 0, t.minSharpness, t.goodSharpness),
    EXTREME_POSE: Math.min(
      ramp(Math.abs(m.yawDeg), 75, t.maxYawDeg, t.goodYawDeg),
      ramp(Math.abs(m.pitchDeg), 70, t.maxPitchDeg, t.goodPitchDeg),
    ),
    LOW_DETECTION_SCORE: ramp(m.detectionScore, t.badDetectionScore, t.minDetectionScore, t.goodDetectionScore),
    POOR_EXPOSURE: Math.min(
      ramp(m.luminanceMean, 0, t.minLuminance, t.minLuminance + 30),
      ramp(m.luminanceMean, 255, t.maxLuminance, t.maxLuminance - 30),
      ramp(m.luminanceStd, 0, t.minContrast, t.minContrast * 2),
    ),
  };
}

export function assessQuality(m: QualityMeasures, t: QualityThresholds = QUALITY_THRESHOLDS): FaceQuality {
  const f = qualityFactors(m, t);
  const factors = Object.values(f);
  const min = Math.min(...factors);
  const product = factors.reduce((a, b) => a * b, 1);
  const score = Math.pow(min, 0.7) * Math.pow(product, 0.3);
  const issues = (Object.keys(f) as QualityIssue[]).filter((k) => f[k] < 0.5);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    score: round(score),
    issues,
    metrics: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v)])),
  };
}

/** The thresholds for a model: QUALITY_THRESHOLDS with the manifest's own where its scale differs (ModelManifest.quality). */
export function qualityThresholdsFor(manifest: { quality?: Partial<QualityThresholds> }): QualityThresholds {
  return { ...QUALITY_THRESHOLDS, ...manifest.quality };
}
