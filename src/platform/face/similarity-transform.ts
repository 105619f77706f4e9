import type { Affine } from './image-ops';
import type { Point } from './quality';

/**
 * Five-point face alignment for ArcFace-convention embedders: the least-squares similarity transform (rotation, uniform scale,
 * translation; no reflection — Umeyama 1991 restricted to 2-D) that maps the face's eye centres, nose tip and mouth corners onto
 * a reference template, then inverted so a chip can be sampled with warpAffine.
 */

/** InsightFace's reference points for a 112x112 chip: left eye, right eye, nose tip, left and right mouth corner (x, y). */
export const ARCFACE_112: readonly Point[] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

/** The template for a chip of `size` px (the 112 px template scaled; ArcFace models at 112 px use it unchanged). */
export function scaledTemplate(size: number): Point[] {
  const k = size / 112;
  return ARCFACE_112.map((p) => ({ x: p.x * k, y: p.y * k }));
}

/**
 * The five alignment points from 68 iBUG landmarks: eye centres (36-41, 42-47), nose tip (30), mouth corners (48, 54); five
 * points (a detector's own, already in this order) are returned as they are.
 */
export function fivePoints(lm: readonly Point[]): Point[] {
  if (lm.length === 5) return [...lm];
  const mean = (from: number, to: number) => {
    let x = 0;
    let y = 0;
    for (let i = from; i <= to; i++) {
      x += lm[i]!.x;
      y += lm[i]!.y;
    }
    const n = to - from + 1;
    return { x: x / n, y: y / n };
  };
  return [mean(36, 41), mean(42, 47), lm[30]!, lm[48]!, lm[54]!];
}

/** Similarity d = [a −b; b a]·s + t minimising Σ|d − dst|² over the point pairs; returns [a, b, tx, ty]. */
export function fitSimilarity(src: readonly Point[], dst: readonly Point[]): [number, number, number, number] {
  const n = src.length;
  const ms = src.reduce((m, p) => ({ x: m.x + p.x / n, y: m.y + p.y / n }), { x: 0, y: 0 });
  const md = dst.reduce((m, p) => ({ x: m.x + p.x / n, y: m.y + p.y / n }), { x: 0, y: 0 });
  let dot = 0;
  let cross = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const sx = src[i]!.x - ms.x;
    const sy = src[i]!.y - ms.y;
    const dx = dst[i]!.x - md.x;
    const dy = dst[i]!.y - md.y;
    dot += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
    norm += sx * sx + sy * sy;
  }
  if (norm === 0) throw new Error('alignment points coincide');
  const a = dot / norm;
  const b = cross / norm;
  return [a, b, md.x - (a * ms.x - b * ms.y), md.y - (b * ms.x + a * ms.y)];
}

/**
 * The sampling transform of an aligned chip: chip pixel → image pixel, for warpAffine. Fitted image → template (as
 * InsightFace's `estimate_norm` + `cv2.warpAffine` do) and inverted, so the least-squares error is measured in chip pixels.
 */
export function alignmentWarp(imagePoints: readonly Point[], template: readonly Point[]): Affine {
  const [a, b, tx, ty] = fitSimilarity(imagePoints, template);
  const det = a * a + b * b;
  // Inverse of [a −b; b a]: [a b; −b a] / det.
  const ia = a / det;
  const ib = b / det;
  return [ia, ib, -(ia * tx + ib * ty), -ib, ia, -(-ib * tx + ia * ty)];
}
