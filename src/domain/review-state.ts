/**
 * Four-eyes review rules for one candidate (a subject proposed for one probe face of one search).
 * EU AI Act Art. 14(5): no action on an identification unless two natural persons verified it. Reviewers are told apart by
 * their API key: one key is one reviewer.
 */
export const REVIEW_DECISIONS = ['confirmed', 'rejected', 'inconclusive'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export type ReviewState = 'pending' | 'awaiting_second_confirmation' | 'confirmed' | 'rejected' | 'inconclusive';

export interface ReviewSummary {
  state: ReviewState;
  /** Distinct reviewer keys that confirmed. */
  confirmations: number;
  /** Distinct reviewer keys that rejected. */
  rejections: number;
  inconclusive: number;
}

/** Distinct confirming keys needed before a candidate counts as confirmed. */
export const CONFIRMATIONS_REQUIRED = 2;

/**
 * - `pending`: no decisions yet;
 * - `rejected`: any rejection (one rejection blocks, whatever else was decided);
 * - `confirmed`: at least two different keys confirmed and nobody rejected;
 * - `awaiting_second_confirmation`: one key confirmed, nobody rejected (inconclusive decisions do not count either way);
 * - `inconclusive`: only inconclusive decisions.
 */
export function reviewState(decisions: ReadonlyArray<{ decision: ReviewDecision; keyId: string }>): ReviewSummary {
  const keysWith = (d: ReviewDecision) => new Set(decisions.filter((r) => r.decision === d).map((r) => r.keyId)).size;
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

interface ReviewLike {
  faceIndex: number;
  subjectId: string;
  decision: ReviewDecision;
  keyId: string;
}

/** The stored search result with each candidate's `review` summary and the search's `reviews` list (oldest first). */
export function withReviewState<R extends ReviewLike>(result: Record<string, unknown>, reviews: R[]): Record<string, unknown> {
  const faces = Array.isArray(result.faces) ? (result.faces as Array<{ faceIndex: number; candidates?: Array<{ subjectId: string }> }>) : [];
  return {
    ...result,
    ...(Array.isArray(result.faces)
      ? {
          faces: faces.map((f) => ({
            ...f,
            candidates: (f.candidates ?? []).map((c) => {
              const { state, confirmations, rejections } = reviewState(reviews.filter((r) => r.faceIndex === f.faceIndex && r.subjectId === c.subjectId));
              return { ...c, review: { state, confirmations, rejections } };
            }),
          })),
        }
      : {}),
    reviews,
  };
}
