import type { ReviewRecord } from '../infra/db/review.repo';
import type { ShownFace, ShownSearchResult } from './search-result';

/**
 * Four-eyes review rules for one candidate (a subject proposed for one probe face of one search).
 * EU AI Act Art. 14(5): no action on an identification unless two natural persons verified it. Reviewers are told apart by
 * the holder of their API key (the person using it): two keys of one holder count once.
 */
export const REVIEW_DECISIONS = ['confirmed', 'rejected', 'inconclusive'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export const REVIEW_STATES = ['pending', 'awaiting_second_confirmation', 'confirmed', 'rejected', 'inconclusive'] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

export interface ReviewSummary {
  state: ReviewState;
  /** Distinct reviewers (key holders) that confirmed. */
  confirmations: number;
  /** Distinct reviewers (key holders) that rejected. */
  rejections: number;
  inconclusive: number;
}

/** Distinct confirming reviewers (holders) needed before a candidate counts as confirmed. */
export const CONFIRMATIONS_REQUIRED = 2;

/**
 * - `pending`: no decisions yet;
 * - `rejected`: any rejection (one rejection blocks, whatever else was decided);
 * - `confirmed`: at least two different holders confirmed and nobody rejected;
 * - `awaiting_second_confirmation`: one holder confirmed, nobody rejected (inconclusive decisions do not count either way);
 * - `inconclusive`: only inconclusive decisions.
 */
export function reviewState(decisions: ReadonlyArray<{ decision: ReviewDecision; keyId: string; holder?: string }>): ReviewSummary {
  // A decision without a holder (recorded by an in-process caller) counts as its key.
  const keysWith = (d: ReviewDecision) => new Set(decisions.filter((r) => r.decision === d).map((r) => r.holder ?? `key:${r.keyId}`)).size;
  const confirmations = keysWith('confirmed');
  const rejections = keysWith('rejected');
  const inconclusive = keysWith('inconclusive');
  const state: ReviewState =
    decisions.length === 0
      ? 'pending'
      : rejections > 0
        ? 'rejected'
        : confirmations >= CONFIRMATIONS_REQUIRED
          ? 'confirmed'
          : confirmations === 1
            ? 'awaiting_second_confirmation'
            : 'inconclusive';
  return { state, confirmations, rejections, inconclusive };
}

type ReviewLike = Pick<ReviewRecord, 'faceIndex' | 'subjectId' | 'decision' | 'keyId'> & { holder?: string };

/** The search's candidates, each with the review summary of its own decisions (names joined or not: any shown face). */
function reviewed(faces: ShownFace[], reviews: ReviewLike[]): ShownFace[] {
  return faces.map((f) => ({
    ...f,
    candidates: f.candidates.map((c) => {
      const { state, confirmations, rejections } = reviewState(reviews.filter((r) => r.faceIndex === f.faceIndex && r.subjectId === c.subjectId));
      return { ...c, review: { state, confirmations, rejections } };
    }),
  }));
}

/** A search (as read, names joined) with each candidate's `review` summary and the search's `reviews` list (oldest first). */
export function withReviewState(result: ShownSearchResult, reviews: ReviewRecord[]): ShownSearchResult {
  return { ...result, faces: reviewed(result.faces, reviews), reviews };
}

/**
 * Blind verification: what a reviewer (not an auditor) sees of a stored search before recording their own decision. For each
 * candidate this holder has not decided, other reviewers' decisions and the review summary are withheld (state `blind`);
 * after the holder's own decision on it, everything about that candidate is shown.
 */
export function blindFor(result: ShownSearchResult, reviews: ReviewRecord[], holder: string): ShownSearchResult {
  const own = (r: ReviewLike) => (r.holder ?? `key:${r.keyId}`) === holder;
  const decided = new Set(reviews.filter(own).map((r) => `${r.faceIndex}:${r.subjectId}`));
  const open = (faceIndex: number, subjectId: string) => !decided.has(`${faceIndex}:${subjectId}`);
  const faces = reviewed(result.faces, reviews).map((f) => ({
    ...f,
    candidates: f.candidates.map((c) => (open(f.faceIndex, c.subjectId) ? { ...c, review: { state: 'blind' as const } } : c)),
  }));
  return { ...result, faces, reviews: reviews.filter((r) => own(r) || !open(r.faceIndex, r.subjectId)), blind: true };
}
