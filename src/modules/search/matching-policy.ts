import type { Calibration } from '../../shared/calibration';
import type { Box, FaceQuality } from '../../shared/face.types';

export type SearchMode = 'investigative' | 'screening';

export type ReviewReason =
  | 'CANDIDATES_ARE_LEADS_ONLY'
  | 'LOW_PROBE_QUALITY'
  | 'AMBIGUOUS_TOP_CANDIDATES'
  | 'MULTIPLE_PROBE_FACES'
  | 'NEAR_MISS';

/**
 * A candidate as stored with a search: ids only. Names are joined when the search is read (search.service `withNames`), so an
 * erased subject leaves no name behind in stored searches, reports or notices.
 */
export interface Candidate {
  rank: number;
  subjectId: string;
  category: string;
  watchlistId: string;
  faceId: string;
  similarity: number;
  estimatedFalseMatchRate: number;
  /** Present (true) when the matched template was enrolled below the quality gate on the enroller's acceptQuality. */
  qualityOverruled?: true;
}

export interface FaceResult {
  faceIndex: number;
  box: Box;
  quality: Pick<FaceQuality, 'score' | 'issues'>;
  candidates: Candidate[];
}

export interface PolicySettings {
  screeningThreshold: number;
  ambiguityMargin: number;
  probeMinQuality: number;
}

/**
 * Which candidates a mode returns, from the kNN result. Investigative: all of it. Screening (KYC): only those at or above the
 * screening threshold (itself derived from a target false-match rate); an empty list means "no watchlist hit".
 * The caller's cuts apply in both modes: `minSimilarity` (a similarity floor) and `maxFalseMatchRate` (candidates whose
 * calibrated estimatedFalseMatchRate exceeds it are dropped, so weak leads never reach the review queue). Ranks are renumbered.
 */
export function keepCandidates(
  mode: SearchMode,
  cands: Candidate[],
  s: PolicySettings,
  cuts: { minSimilarity?: number; maxFalseMatchRate?: number } = {},
): Candidate[] {
  const floor = Math.max(cuts.minSimilarity ?? 0, mode === 'screening' ? s.screeningThreshold : 0);
  const cap = cuts.maxFalseMatchRate ?? 1;
  return cands.filter((c) => c.similarity >= floor && c.estimatedFalseMatchRate <= cap).map((c, i) => ({ ...c, rank: i + 1 }));
}

/**
 * Human review rules (docs/api.md, "When a search needs human review"):
 * - CANDIDATES_ARE_LEADS_ONLY: any candidate is returned (both modes);
 * - LOW_PROBE_QUALITY: a probe face scores below the probe quality level (in screening, a miss on a poor probe is not a clear result);
 * - AMBIGUOUS_TOP_CANDIDATES: for some face, the top two candidates are within the ambiguity margin and the top one is at or
 *   above the screening threshold (two plausible matches that a reviewer must tell apart);
 * - MULTIPLE_PROBE_FACES: the probe holds several faces and at least one has a candidate (a reviewer checks which person is meant).
 */
export function reviewDecision(faces: FaceResult[], s: PolicySettings): { humanReviewRequired: boolean; reviewReasons: ReviewReason[] } {
  const reasons = new Set<ReviewReason>();
  const anyCandidate = faces.some((f) => f.candidates.length > 0);
  if (anyCandidate) reasons.add('CANDIDATES_ARE_LEADS_ONLY');
  if (faces.some((f) => f.quality.score < s.probeMinQuality)) reasons.add('LOW_PROBE_QUALITY');
  for (const f of faces) {
    const [a, b] = f.candidates;
    if (a && b && a.similarity >= s.screeningThreshold && a.similarity - b.similarity < s.ambiguityMargin) {
      reasons.add('AMBIGUOUS_TOP_CANDIDATES');
    }
  }
  if (faces.length > 1 && anyCandidate) reasons.add('MULTIPLE_PROBE_FACES');
  const order: ReviewReason[] = ['CANDIDATES_ARE_LEADS_ONLY', 'LOW_PROBE_QUALITY', 'AMBIGUOUS_TOP_CANDIDATES', 'MULTIPLE_PROBE_FACES'];
  const reviewReasons = order.filter((r) => reasons.has(r));
  return { humanReviewRequired: reviewReasons.length > 0, reviewReasons };
}

/**
 * The 1:1 decision band, both edges read from the model's calibration table:
 * - `threshold`: the lowest similarity whose estimated false-match rate is at or below `targetFmr` (at or above → match);
 * - `nearMissThreshold`: likewise for `targetFmr × nearMissFactor` (capped at 1). A score in [nearMissThreshold, threshold)
 *   is no match but a near miss, flagged NEAR_MISS for a human: impostors reach it at most `nearMissFactor` times as often as
 *   the accepted rate. A factor of 1 makes the band empty.
 */
export function verifyBand(calibration: Calibration, targetFmr: number, nearMissFactor: number): { threshold: number; nearMissThreshold: number } {
  const threshold = calibration.thresholdFor(targetFmr);
  const nearMissThreshold = Math.min(threshold, calibration.thresholdFor(Math.min(1, targetFmr * nearMissFactor)));
  return { threshold, nearMissThreshold };
}
