/**
 * Similarity → false-match rate, measured for one model on labelled impostor pairs (never on the data used to report).
 *
 * similarity = (1 + cosine) / 2 of the unit embeddings, so 0 … 1 and strictly monotone in cosine distance.
 * A table point {similarity: s, fmr: f} means: a fraction f of impostor pairs scored ≥ s.
 */
export interface CalibrationPoint {
  similarity: number;
  fmr: number;
}

export interface CalibrationTable {
  modelId: string;
  /** Where the impostor scores came from (data set, split, pair count). */
  source: string;
  impostorPairs: number;
  /** Ascending similarity, non-increasing fmr. */
  points: CalibrationPoint[];
}

export function similarityFromCosineDistance(distance: number): number {
  return Math.min(1, Math.max(0, 1 - distance / 2));
}

export function similarityFromCosine(cos: number): number {
  return Math.min(1, Math.max(0, (1 + cos) / 2));
}

export interface Calibration {
  readonly table: CalibrationTable;
  /** Smallest false-match rate the table can resolve (one impostor pair in all of them). */
  readonly floor: number;
  /** Estimated false-match rate at a similarity: log-linear interpolation between points; never below the floor. */
  fmrAt(similarity: number): number;
  /** The lowest similarity whose estimated false-match rate is at or below `targetFmr`. */
  thresholdFor(targetFmr: number): number;
}

export function createCalibration(table: CalibrationTable): Calibration {
  const pts = [...table.points].sort((a, b) => a.similarity - b.similarity);
  if (pts.length < 2) throw new Error(`calibration table for ${table.modelId} needs at least two points`);
  for (let i = 1; i < pts.length; i++) {
    if (pts[i]!.fmr > pts[i - 1]!.fmr) throw new Error(`calibration table for ${table.modelId}: fmr must not increase with similarity`);
  }
  const floor = 1 / Math.max(1, table.impostorPairs);
  const logf = (f: number) => Math.log10(Math.max(f, floor));

  const fmrAt = (s: number): number => {
    if (s <= pts[0]!.similarity) return Math.max(pts[0]!.fmr, floor);
    const last = pts[pts.length - 1]!;
    if (s >= last.similarity) return Math.max(last.fmr, floor);
    let i = 1;
    while (pts[i]!.similarity < s) i++;
    const a = pts[i - 1]!;
    const b = pts[i]!;
    const t = (s - a.similarity) / (b.similarity - a.similarity);
    return Math.max(floor, 10 ** (logf(a.fmr) + t * (logf(b.fmr) - logf(a.fmr))));
  };

  const thresholdFor = (target: number): number => {
    if (target < floor) throw new Error(`target FMR ${target} is below what the ${table.modelId} calibration can resolve (${floor})`);
    // Bisection on the monotone interpolant.
    let lo = 0;
    let hi = 1;
    for (let k = 0; k < 60; k++) {
      const mid = (lo + hi) / 2;
      if (fmrAt(mid) <= target) hi = mid;
      else lo = mid;
    }
    return hi;
  };

  return { table, floor, fmrAt, thresholdFor };
}

/**
 * Builds a table from impostor similarities (one per impostor comparison): a point at the similarity reached by the top
 * ⌈f·N⌉ impostors for f on a log grid from 1 down to one comparison, each carrying the exact fraction of impostors at or above
 * it. The last point sits just above the highest impostor score, at the table's floor (1/N).
 */
export function buildCalibrationTable(impostors: ArrayLike<number>, modelId: string, source: string): CalibrationTable {
  const desc = Float64Array.from(impostors).sort().reverse();
  const n = desc.length;
  if (n < 100) throw new Error(`calibration needs at least 100 impostor comparisons, got ${n}`);
  const grid: number[] = [];
  for (let e = 0; 10 ** -e * n >= 1; e++) for (const m of [1, 0.5, 0.2]) if (m * 10 ** -e * n >= 1) grid.push(m * 10 ** -e);
  const points: CalibrationPoint[] = [];
  for (const f of grid) {
    const s = desc[Math.max(0, Math.ceil(f * n) - 1)]!;
    // The exact fraction of impostors at or above s (ties counted); binary search for the first index with a score below s.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (desc[mid]! >= s) lo = mid + 1;
      else hi = mid;
    }
    const last = points[points.length - 1];
    if (last && last.similarity >= round6(s)) continue;
    points.push({ similarity: round6(s), fmr: lo / n });
  }
  const top = round6(Math.min(1, desc[0]! + 1e-6));
  if (top > points[points.length - 1]!.similarity) points.push({ similarity: top, fmr: 1 / n });
  return { modelId, source, impostorPairs: n, points };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
