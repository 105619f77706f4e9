/**
 * Scores as people read them (console and case file). A calibrated false-match rate (FMR) f means: a fraction f of comparisons
 * between two different people score this high. People read it as "about 1 in 1/f", in a band whose edges are the deployment's
 * own thresholds (SCREENING_TARGET_FMR and VERIFY_TARGET_FMR), never invented ones:
 * - strong: at or below the stricter of the two thresholds;
 * - possible: above it, at or below the looser one (empty when both are equal);
 * - weak: above both (as common among strangers as the deployment tolerates for neither a hit nor a verification).
 */
export type FmrBand = 'strong' | 'possible' | 'weak';

export interface ScoreScale {
  /** FMR at or below which a candidate is strong. */
  strong: number;
  /** FMR at or below which a candidate is at least possible (>= strong). */
  possible: number;
  screeningTargetFmr: number;
  verifyTargetFmr: number;
  /** The smallest FMR the active model's calibration resolves (one impostor pair in all), when known. */
  floor: number | null;
}

export function scoreScale(t: { screeningTargetFmr: number; verifyTargetFmr: number; floor?: number | null }): ScoreScale {
  return {
    strong: Math.min(t.screeningTargetFmr, t.verifyTargetFmr),
    possible: Math.max(t.screeningTargetFmr, t.verifyTargetFmr),
    screeningTargetFmr: t.screeningTargetFmr,
    verifyTargetFmr: t.verifyTargetFmr,
    floor: t.floor ?? null,
  };
}

export function fmrBand(fmr: number, s: ScoreScale): FmrBand {
  return fmr <= s.strong ? 'strong' : fmr <= s.possible ? 'possible' : 'weak';
}

/** N of "about 1 in N": 1/fmr to two significant digits (1/0.0014 → 710); 2 for anything as common as a coin toss or more. */
export function oneIn(fmr: number): number {
  if (!(fmr > 0)) return Infinity;
  const n = 1 / fmr;
  if (n < 2) return 2;
  return Number(n.toPrecision(2));
}

/** Whether an FMR sits at the calibration's floor: the true rate may be lower still ("1 in N or rarer"). */
export const atFloor = (fmr: number, s: ScoreScale) => s.floor !== null && fmr <= s.floor * 1.0001;

/**
 * Position of an FMR on the small scale drawn beside it: 0 (left, as common as chance) … 1 (right, as rare as the scale
 * shows), logarithmic from FMR 1 down to 10⁻⁸ (or the calibration floor, when it is lower).
 */
export function scalePosition(fmr: number, s: ScoreScale): number {
  const low = Math.log10(Math.min(1e-8, s.floor ?? 1e-8));
  const x = Math.log10(Math.min(1, Math.max(fmr, 10 ** low)));
  return x === 0 ? 0 : x / low;
}

/** Probe and enrolment quality in three levels: `minQuality` is the gate (below it: poor); 0.75 and up is good. */
export type QualityLevel = 'good' | 'usable' | 'poor';
export const qualityLevel = (score: number, minQuality = 0.5): QualityLevel => (score < minQuality ? 'poor' : score >= 0.75 ? 'good' : 'usable');

/** Faces are numbered from 1 for people; the API's faceIndex stays 0-based. */
export const faceNumber = (faceIndex: number) => faceIndex + 1;
