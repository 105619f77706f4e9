import { AppError } from '../../src/shared/errors';
import type { Box, QualityIssue } from '../../src/shared/face.types';
import { decideEnrolment, type EnrolGateRules, type GateFace } from '../../src/modules/gallery/enrolment-gate';
import { descending, dot, round, thresholdAtFar } from './eval-metrics';

/**
 * `npm run eval -- --enrolment`: every image put through the API's own enrolment gate (src/modules/gallery/enrolment-gate.ts,
 * the function POST /v1/subjects/:id/faces calls) on the engine's analysis of the whole photo (every face, standard detail,
 * as the API), and verification split by what enrolling the gallery side of a pair would take. Pure functions over cached
 * analyses (unit-tested in test/unit/eval-enrolment.test.ts); the engine work is in scripts/eval.ts.
 */

export interface AnalysedFace extends GateFace {
  /** The template the API would store for this face (unit length, the model's centre applied). */
  embedding: Float32Array;
}

/** One photo as the engine saw it; null when it could not be read (counted as unreadable, never enrolled). */
export interface AnalysedPhoto {
  width: number;
  height: number;
  /** Largest first, as the engine lists them (the order faceIndex counts in). */
  faces: AnalysedFace[];
}

/**
 * What enrolling the photo takes with default settings, and what an enroller could still do:
 * - `passes`: enrolled as sent (the only face or the dominant one, at or above ENROL_MIN_QUALITY);
 * - `chosen`: refused with MULTIPLE_FACES; enrolled when the enroller picks the labelled face (nearest the centre, LFW's
 *   convention) with faceIndex, quality passing;
 * - `overruled`: refused with LOW_QUALITY between the floor and the gate (possibly after choosing the face); enrolled with
 *   acceptQuality=true;
 * - `refused`: no template whatever the enroller does (NO_FACE, under ENROL_QUALITY_FLOOR, unreadable).
 */
export type EnrolCategory = 'passes' | 'chosen' | 'overruled' | 'refused';
export const CATEGORIES: readonly EnrolCategory[] = ['passes', 'chosen', 'overruled', 'refused'];

export interface EnrolOutcome {
  /** The API's answer with default settings: 'enrolled' or the error code; LOW_QUALITY split by whether it is overrulable. */
  verdict: 'enrolled' | 'NO_FACE' | 'MULTIPLE_FACES' | 'LOW_QUALITY (overrulable)' | 'LOW_QUALITY (under the floor)' | 'UNREADABLE';
  /** The quality issues of the face refused for quality ('none named' when its score is low with no single issue). */
  issues: (QualityIssue | 'none named')[];
  category: EnrolCategory;
  /** Index of the face the gallery would hold (null: refused). */
  galleryFace: number | null;
  /** Index of the face nearest the image centre (the probe's face, LFW's convention); null: no face (failure to acquire). */
  centreFace: number | null;
}

const centre = (b: Box) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

export function centreFaceIndex(photo: AnalysedPhoto): number | null {
  let best: number | null = null;
  let bestD = Infinity;
  photo.faces.forEach((f, i) => {
    const c = centre(f.box);
    const d = (c.x - photo.width / 2) ** 2 + (c.y - photo.height / 2) ** 2;
    if (d < bestD) [best, bestD] = [i, d];
  });
  return best;
}

const codeOf = (e: unknown) => {
  if (!(e instanceof AppError)) throw e;
  return e;
};

export function enrolOutcome(photo: AnalysedPhoto | null, rules: EnrolGateRules): EnrolOutcome {
  if (!photo) return { verdict: 'UNREADABLE', issues: [], category: 'refused', galleryFace: null, centreFace: null };
  const centreFace = centreFaceIndex(photo);
  try {
    const d = decideEnrolment(photo.faces, rules);
    return { verdict: 'enrolled', issues: [], category: 'passes', galleryFace: d.index, centreFace };
  } catch (e) {
    const err = codeOf(e);
    if (err.code === 'NO_FACE') return { verdict: 'NO_FACE', issues: [], category: 'refused', galleryFace: null, centreFace };
    const issuesOf = (i: number) => {
      const is = photo.faces[i]!.quality.issues;
      return is.length ? [...is] : (['none named'] as const).slice();
    };
    if (err.code === 'MULTIPLE_FACES') {
      // The enroller picks the labelled face; it may then need the quality overrule too.
      const choice = { faceIndex: centreFace! };
      try {
        decideEnrolment(photo.faces, rules, { choice });
        return { verdict: 'MULTIPLE_FACES', issues: [], category: 'chosen', galleryFace: centreFace, centreFace };
      } catch (e2) {
        const overrulable = (codeOf(e2).details as { overrulable?: boolean }).overrulable === true;
        return { verdict: 'MULTIPLE_FACES', issues: issuesOf(centreFace!), category: overrulable ? 'overruled' : 'refused', galleryFace: overrulable ? centreFace : null, centreFace };
      }
    }
    if (err.code === 'LOW_QUALITY') {
      const overrulable = (err.details as { overrulable?: boolean }).overrulable === true;
      const d = overrulable ? decideEnrolment(photo.faces, rules, { acceptQuality: true }) : null;
      // The face it would have taken: the only or dominant one (the gate refused that face's quality).
      const refusedFace = d ? d.index : photo.faces.length === 1 ? 0 : largestIndex(photo);
      return {
        verdict: overrulable ? 'LOW_QUALITY (overrulable)' : 'LOW_QUALITY (under the floor)',
        issues: issuesOf(refusedFace),
        category: overrulable ? 'overruled' : 'refused',
        galleryFace: d ? d.index : null,
        centreFace,
      };
    }
    throw err;
  }
}

const largestIndex = (p: AnalysedPhoto) => p.faces.reduce((best, f, i) => (f.box.width * f.box.height > p.faces[best]!.box.width * p.faces[best]!.box.height ? i : best), 0);

/** Failure to enrol per reason (the API's answers with default settings) beside failure to acquire (no face at all). */
export function enrolmentCounts(outcomes: EnrolOutcome[]) {
  const n = outcomes.length;
  const verdicts: Record<string, number> = {};
  const lowQualityIssues: Record<string, number> = {};
  const categories = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<EnrolCategory, number>;
  for (const o of outcomes) {
    verdicts[o.verdict] = (verdicts[o.verdict] ?? 0) + 1;
    categories[o.category]++;
    if (o.verdict.startsWith('LOW_QUALITY')) for (const i of o.issues) lowQualityIssues[i] = (lowQualityIssues[i] ?? 0) + 1;
  }
  const refused = n - (verdicts.enrolled ?? 0);
  const fta = outcomes.filter((o) => o.centreFace === null).length;
  return {
    photos: n,
    fta,
    ftaRate: round(fta / Math.max(1, n), 5),
    fte: refused,
    fteRate: round(refused / Math.max(1, n), 5),
    verdicts,
    lowQualityIssues,
    /** What the refused photos would take: the enroller choosing the face, accepting quality, or nothing will do. */
    categories,
  };
}

/**
 * Verification split by the gallery side's enrolment category. Every ordered pair (gallery i, probe j ≠ i) of the images:
 * the gallery template is the face the gallery would hold (the gate's, or the enroller's choice/overrule), the probe the face
 * nearest the centre. Impostor pairs with a gallery template set one threshold per FAR (over every category: the gallery is one
 * gallery); each category's TAR and observed FAR are read at it, and at the service's calibrated thresholds. A genuine pair
 * whose probe has no face counts as rejected; gallery images with no template (refused) are reported, not scored.
 */
export function tarByCategory(
  items: { identity: string; photo: AnalysedPhoto | null; outcome: EnrolOutcome }[],
  calibrated: Record<string, number> | null,
  fars: readonly string[] = ['1e-3', '1e-4'],
) {
  const gal = items.map((it) => (it.outcome.galleryFace === null ? null : it.photo!.faces[it.outcome.galleryFace]!.embedding));
  const probe = items.map((it) => (it.outcome.centreFace === null ? null : it.photo!.faces[it.outcome.centreFace]!.embedding));
  const genuine = Object.fromEntries(CATEGORIES.map((c) => [c, [] as (number | null)[]])) as Record<EnrolCategory, (number | null)[]>;
  const impostorAll: number[] = [];
  let impostorTotal = 0;
  const impostorsByCat = Object.fromEntries(CATEGORIES.map((c) => [c, [] as number[]])) as Record<EnrolCategory, number[]>;
  const impostorTotalByCat = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<EnrolCategory, number>;
  for (let i = 0; i < items.length; i++) {
    const cat = items[i]!.outcome.category;
    const g = gal[i];
    for (let j = 0; j < items.length; j++) {
      if (i === j) continue;
      const same = items[i]!.identity === items[j]!.identity;
      const p = probe[j];
      const s = g && p ? Math.min(1, Math.max(0, (1 + dot(g, p)) / 2)) : null;
      if (same) genuine[cat].push(s);
      else if (g) {
        impostorTotal++;
        impostorTotalByCat[cat]++;
        if (s !== null) {
          impostorAll.push(s);
          impostorsByCat[cat].push(s);
        }
      }
    }
  }
  const desc = descending(impostorAll);
  const thresholds = Object.fromEntries(fars.map((f) => [f, thresholdAtFar(desc, impostorTotal, Number(f))])) as Record<string, number | null>;
  const at = (scores: (number | null)[], t: number | null) => (t === null || scores.length === 0 ? null : round(scores.filter((s) => s !== null && s >= t).length / scores.length, 5));
  const farAt = (c: EnrolCategory, t: number | null) => (t === null || impostorTotalByCat[c] === 0 ? null : round(impostorsByCat[c].filter((s) => s >= t).length / impostorTotalByCat[c], 7));
  const byCategory = Object.fromEntries(
    CATEGORIES.map((c) => [
      c,
      {
        galleryImages: items.filter((it) => it.outcome.category === c).length,
        genuinePairs: genuine[c].length,
        impostorPairs: impostorTotalByCat[c],
        tar: c === 'refused' ? null : Object.fromEntries(fars.map((f) => [f, at(genuine[c], thresholds[f]!)])),
        observedFar: c === 'refused' ? null : Object.fromEntries(fars.map((f) => [f, farAt(c, thresholds[f]!)])),
        tarAtCalibrated: c === 'refused' || !calibrated ? null : Object.fromEntries(Object.entries(calibrated).map(([f, t]) => [f, at(genuine[c], t)])),
      },
    ]),
  );
  const enrolledDefault = genuine.passes;
  const enrolledByEnroller = [...genuine.passes, ...genuine.chosen, ...genuine.overruled];
  return {
    orderedPairs: { genuine: CATEGORIES.reduce((s, c) => s + genuine[c].length, 0), impostors: impostorTotal },
    thresholds: Object.fromEntries(Object.entries(thresholds).map(([f, t]) => [f, t === null ? null : round(t, 5)])),
    calibratedThresholds: calibrated ? Object.fromEntries(Object.entries(calibrated).map(([f, t]) => [f, round(t, 5)])) : null,
    byCategory,
    /** The gallery as default settings build it, and as the enroller completes it (choosing faces, accepting quality). */
    enrolledAsSent: { genuinePairs: enrolledDefault.length, tar: Object.fromEntries(fars.map((f) => [f, at(enrolledDefault, thresholds[f]!)])) },
    enrolledWithEnroller: { genuinePairs: enrolledByEnroller.length, tar: Object.fromEntries(fars.map((f) => [f, at(enrolledByEnroller, thresholds[f]!)])) },
  };
}
