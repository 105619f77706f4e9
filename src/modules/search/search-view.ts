import { reviewState, type ReviewRecord } from '../review/review.model';
import type { ShownFace, ShownSearchResult } from './search.model';

/** How a stored search is shown to a reader: each candidate's four-eyes review state, or the blind view of a reviewer. */

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
