import { LowQualityError, MultipleFacesError, NoFaceError } from '../../shared/errors';
import type { Box, FaceQuality } from '../../shared/face.types';
import type { AcceptQualityPolicy } from '../watchlist/watchlist.model';

/**
 * Which face of a photo enrolment takes, and whether its quality lets it in: the one rule the API (subject.service) and the
 * measurement (scripts/enrol-gate.ts) both run. Pure: faces in (largest first, as the engine lists them), a decision or an
 * AppError out.
 *
 * - One face: that face.
 * - Several, none chosen: the largest is **dominant** when its box area is at least `dominantRatio` × the area of every other
 *   face; it is enrolled and the others are reported (`otherFaces`). Otherwise MULTIPLE_FACES with every box (details.boxes, in
 *   the engine's order: largest first; `faceIndex` counts from 0 in that list). `dominantRatio` 0 turns the rule off (every
 *   photo with more than one face is refused, the rule before issue 29).
 * - Chosen: `faceIndex` (0-based, as MULTIPLE_FACES lists the boxes) or `box` (the detected face with the highest IoU with it;
 *   NO_FACE with every box when none overlaps it, or when the index is out of range).
 * - Quality: below `floorQuality` refused (LOW_QUALITY, `overrulable: false`); from the floor to under `minQuality` it is the
 *   watchlist's `policy` (default `on_request`): refused with LOW_QUALITY (`overrulable: true`) unless `acceptQuality`, then
 *   enrolled with `qualityOverruled: true`; `always`: enrolled so without being asked; `never`: refused (`overrulable: false`).
 */
export interface EnrolGateRules {
  /** ENROL_MIN_QUALITY: the gate. */
  minQuality: number;
  /** ENROL_QUALITY_FLOOR: under it no overrule (no usable face). */
  floorQuality: number;
  /** ENROL_DOMINANT_RATIO: area ratio of the largest face to every other face that makes it the subject; 0: off. */
  dominantRatio: number;
}

export type FaceChoice = { faceIndex: number } | { box: Box };

export interface GateFace {
  box: Box;
  quality: Pick<FaceQuality, 'score' | 'issues'>;
}

export interface GateDecision {
  /** Index of the enrolled face in the engine's list. */
  index: number;
  /** How it was picked. */
  by: 'only' | 'dominant' | 'faceIndex' | 'box';
  /** Boxes of the faces not enrolled, in the engine's order. */
  otherFaces: Box[];
  /** Below the gate, accepted by the enroller (acceptQuality) or by the watchlist's `always` policy. */
  qualityOverruled: boolean;
  /** Who accepted it: the request, or the watchlist's policy (null: not overruled). */
  overruledBy: 'request' | 'watchlist' | null;
}

const area = (b: Box) => Math.max(0, b.width) * Math.max(0, b.height);

/** Intersection over union of two boxes (0 … 1). */
export function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** The area of the largest face over that of the next largest (Infinity for one face): what `dominantRatio` is compared with. */
export function dominance(faces: readonly GateFace[]): number {
  const areas = faces.map((f) => area(f.box)).sort((a, b) => b - a);
  if (areas.length < 2) return Infinity;
  return areas[1]! > 0 ? areas[0]! / areas[1]! : Infinity;
}

/** The face the photo is enrolled with (see above), or the AppError the API answers. */
export function decideEnrolment(faces: readonly GateFace[], rules: EnrolGateRules, opts: { choice?: FaceChoice; acceptQuality?: boolean; policy?: AcceptQualityPolicy } = {}): GateDecision {
  if (faces.length === 0) throw new NoFaceError();
  const boxes = faces.map((f) => f.box);
  let index: number;
  let by: GateDecision['by'];
  const choice = opts.choice;
  if (choice && 'faceIndex' in choice) {
    if (!Number.isInteger(choice.faceIndex) || choice.faceIndex < 0 || choice.faceIndex >= faces.length) {
      throw new NoFaceError(`There is no face ${choice.faceIndex} in the photo: it has ${faces.length} (faceIndex 0 to ${faces.length - 1}).`, { facesDetected: faces.length, boxes });
    }
    index = choice.faceIndex;
    by = 'faceIndex';
  } else if (choice && 'box' in choice) {
    const best = faces.map((f, i) => ({ i, overlap: iou(f.box, choice.box) })).sort((a, b) => b.overlap - a.overlap)[0]!;
    if (best.overlap <= 0) throw new NoFaceError('No detected face overlaps the given box.', { facesDetected: faces.length, boxes });
    index = best.i;
    by = 'box';
  } else if (faces.length === 1) {
    index = 0;
    by = 'only';
  } else {
    // The engine lists the largest first; do not rely on it here.
    const largest = faces.reduce((best, f, i) => (area(f.box) > area(faces[best]!.box) ? i : best), 0);
    const ratio = dominance(faces);
    if (!(rules.dominantRatio > 0 && ratio >= rules.dominantRatio)) throw new MultipleFacesError(faces.length, boxes, rules.dominantRatio > 0 ? rules.dominantRatio : null);
    index = largest;
    by = 'dominant';
  }
  const q = faces[index]!.quality;
  const policy = opts.policy ?? 'on_request';
  let overruledBy: GateDecision['overruledBy'] = null;
  if (q.score < rules.minQuality) {
    const overrulable = q.score >= rules.floorQuality && policy !== 'never';
    const accepted = overrulable && (policy === 'always' || opts.acceptQuality === true);
    if (!accepted) throw new LowQualityError(q.score, q.issues, rules.minQuality, { floor: rules.floorQuality, overrulable, policy });
    overruledBy = policy === 'always' ? 'watchlist' : 'request';
  }
  return { index, by, otherFaces: boxes.filter((_, i) => i !== index), qualityOverruled: overruledBy !== null, overruledBy };
}
