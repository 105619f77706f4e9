/**
 * Verification and identification metrics for `npm run eval` (pure functions, unit-tested in test/unit/eval-metrics.test.ts).
 *
 * Scores are similarities ((1 + cosine) / 2, as the service reports them). `null` is a failure to acquire: an image of the pair
 * had no usable face. Conventions:
 * - accuracy counts every pair with a failed image as an error, whatever its label;
 * - TAR counts a genuine pair with a failed image as rejected (it is in the denominator, never accepted);
 * - FAR counts an impostor pair with a failed image as correctly rejected (it is in the denominator);
 * - TAR at FAR f is measurable only when there are at least 1/f impostor comparisons; otherwise it is null.
 */

export interface ScoredPair {
  score: number | null;
  same: boolean;
}

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

export const similarity = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.min(1, Math.max(0, (1 + dot(a, b)) / 2));

/** Descending copy of the non-null scores. */
export function descending(scores: Iterable<number | null>): Float64Array {
  const a = Float64Array.from([...scores].filter((s): s is number => s !== null));
  return a.sort().reverse();
}

/**
 * The lowest threshold t (accept when score ≥ t) at which at most floor(far · total) impostors are accepted, or null when
 * `total` impostor comparisons cannot resolve `far`. `impostorsDesc` holds the impostor scores that exist (failures excluded).
 */
export function thresholdAtFar(impostorsDesc: Float64Array, total: number, far: number): number | null {
  if (total * far < 1 - 1e-9) return null;
  const allowed = Math.floor(far * total + 1e-9);
  if (allowed >= impostorsDesc.length) return 0;
  // Accepting nothing at or below the (allowed+1)-th highest impostor score.
  return nextUp(impostorsDesc[allowed]!);
}

/** The smallest double above x (so `score ≥ nextUp(x)` excludes x itself). */
export function nextUp(x: number): number {
  return x + Math.max(Number.EPSILON, Math.abs(x) * Number.EPSILON);
}

export const acceptedFraction = (scores: (number | null)[], t: number): number =>
  scores.length === 0 ? 0 : scores.filter((s) => s !== null && s >= t).length / scores.length;

export function accuracyAt(pairs: ScoredPair[], t: number): number {
  const correct = pairs.filter((p) => p.score !== null && (p.same ? p.score >= t : p.score < t)).length;
  return pairs.length === 0 ? 0 : correct / pairs.length;
}

/** The threshold with the highest accuracy on these pairs (midpoint between neighbouring scores), and that accuracy. */
export function bestThreshold(pairs: ScoredPair[]): { threshold: number; accuracy: number } {
  const scored = pairs.filter((p): p is { score: number; same: boolean } => p.score !== null).sort((a, b) => a.score - b.score);
  // Sweep t upwards: below every score all genuine pairs are accepted and all impostors wrongly accepted.
  let correct = scored.filter((p) => p.same).length;
  let best = { threshold: scored.length ? scored[0]!.score : 0.5, correct };
  for (let i = 0; i < scored.length; i++) {
    correct += scored[i]!.same ? -1 : 1;
    if (i + 1 < scored.length && scored[i + 1]!.score === scored[i]!.score) continue;
    const t = i + 1 < scored.length ? (scored[i]!.score + scored[i + 1]!.score) / 2 : nextUp(scored[i]!.score);
    if (correct > best.correct) best = { threshold: t, correct };
  }
  return { threshold: best.threshold, accuracy: pairs.length ? best.correct / pairs.length : 0 };
}

export const FARS = ['1e-2', '1e-3', '1e-4'] as const;
export type FarKey = (typeof FARS)[number];

/** TAR at each FAR of FARS (null where the impostor count cannot resolve it), with the thresholds used. */
export function tarAtFars(genuine: (number | null)[], impostors: (number | null)[]) {
  const desc = descending(impostors);
  const tar = {} as Record<FarKey, number | null>;
  const threshold = {} as Record<FarKey, number | null>;
  for (const k of FARS) {
    const t = thresholdAtFar(desc, impostors.length, Number(k));
    threshold[k] = t;
    tar[k] = t === null ? null : round(acceptedFraction(genuine, t), 5);
  }
  return { tar, threshold };
}

/** ROC points at log-spaced FARs down to what the impostor count resolves. */
export function rocPoints(genuine: (number | null)[], impostors: (number | null)[]) {
  const desc = descending(impostors);
  const points: { far: number; tar: number; threshold: number }[] = [];
  for (const far of [0.5, 0.2, 0.1, 0.05, 0.02, 1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4, 1e-5, 1e-6]) {
    const t = thresholdAtFar(desc, impostors.length, far);
    if (t === null) break;
    points.push({ far, tar: round(acceptedFraction(genuine, t), 5), threshold: round(t, 5) });
  }
  return points;
}

export interface IdentificationSearch {
  /** Similarity of the probe to its own identity's gallery template (null: probe or its gallery image failed). */
  mateScore: number | null;
  /** Rank of the mate among all gallery templates (1 = best), null when there is no mate score. */
  mateRank: number | null;
  /** Best similarity among the other identities' templates (the same probe used as a non-mated search); null: probe failed. */
  nonMateTop: number | null;
}

/**
 * Open-set identification: rank-k hit rates over all probes (failures count as misses), and FNIR at FPIR f — the threshold
 * t lets through a fraction f of non-mated searches (their top score ≥ t); a mated search is a miss unless its mate is at
 * rank 1 with a score ≥ t.
 */
export function identificationMetrics(searches: IdentificationSearch[]) {
  const n = searches.length || 1;
  const rank = (k: number) => searches.filter((s) => s.mateRank !== null && s.mateRank <= k).length / n;
  const nonMated = searches.map((s) => s.nonMateTop);
  const fnir = {} as Record<'1e-2' | '1e-3', number | null>;
  const desc = descending(nonMated);
  for (const k of ['1e-2', '1e-3'] as const) {
    const t = thresholdAtFar(desc, nonMated.length, Number(k));
    fnir[k] = t === null ? null : round(1 - searches.filter((s) => s.mateRank === 1 && s.mateScore! >= t).length / n, 5);
  }
  return { probes: searches.length, rank1: round(rank(1), 5), rank5: round(rank(5), 5), fnirAtFpir: fnir };
}

export const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
