import { reviewState, type ReviewDecision } from '../../src/modules/review/review.model';
import { blindFor, withReviewState } from '../../src/modules/search/search-view';
import { shownSearchResult, withNames } from '../../src/modules/search/search.model';

const d = (decision: ReviewDecision, keyId: string) => ({ decision, keyId });

describe('reviewState (four-eyes rule)', () => {
  it('is pending with no decisions', () => {
    expect(reviewState([])).toEqual({ state: 'pending', confirmations: 0, rejections: 0, inconclusive: 0 });
  });

  it('awaits a second confirmation after one reviewer confirmed', () => {
    expect(reviewState([d('confirmed', 'a')]).state).toBe('awaiting_second_confirmation');
  });

  it('is confirmed only when two different reviewer keys confirmed', () => {
    expect(reviewState([d('confirmed', 'a'), d('confirmed', 'b')])).toMatchObject({ state: 'confirmed', confirmations: 2 });
  });

  it('does not count the same key twice towards the two confirmations', () => {
    expect(reviewState([d('confirmed', 'a'), d('confirmed', 'a')])).toMatchObject({ state: 'awaiting_second_confirmation', confirmations: 1 });
  });

  it('is rejected when more people rejected than confirmed: a first rejection closes a candidate nobody confirmed', () => {
    expect(reviewState([d('rejected', 'c')]).state).toBe('rejected');
    expect(reviewState([d('inconclusive', 'a'), d('rejected', 'b')]).state).toBe('rejected');
    expect(reviewState([d('confirmed', 'a'), d('rejected', 'b'), d('rejected', 'c')])).toMatchObject({ state: 'rejected', confirmations: 1, rejections: 2 });
  });

  it('is disputed while as many people rejected as confirmed; a further reviewer decides it by the majority', () => {
    expect(reviewState([d('confirmed', 'a'), d('rejected', 'b')])).toMatchObject({ state: 'disputed', confirmations: 1, rejections: 1 });
    expect(reviewState([d('confirmed', 'a'), d('rejected', 'b'), d('confirmed', 'c')])).toMatchObject({ state: 'confirmed', confirmations: 2, rejections: 1 });
    expect(reviewState([d('confirmed', 'a'), d('rejected', 'b'), d('confirmed', 'c'), d('rejected', 'e')]).state).toBe('disputed');
    expect(reviewState([d('confirmed', 'a'), d('rejected', 'b'), d('inconclusive', 'c')]).state).toBe('disputed');
  });

  it('is inconclusive when only inconclusive decisions exist', () => {
    expect(reviewState([d('inconclusive', 'a'), d('inconclusive', 'b')])).toMatchObject({ state: 'inconclusive', inconclusive: 2 });
  });

  it('lets inconclusive decisions neither confirm nor block', () => {
    expect(reviewState([d('confirmed', 'a'), d('inconclusive', 'b')]).state).toBe('awaiting_second_confirmation');
    expect(reviewState([d('confirmed', 'a'), d('inconclusive', 'b'), d('confirmed', 'c')]).state).toBe('confirmed');
  });
});

describe('withReviewState', () => {
  const candidate = (subjectId: string, rank: number) =>
    withNames({ rank, subjectId, category: 'fraud', watchlistId: 'w', faceId: `f-${subjectId}`, similarity: 0.8, estimatedFalseMatchRate: 1e-4 }, { displayName: subjectId, watchlist: 'w' });
  const face = (faceIndex: number, subjectIds: string[]) => ({ faceIndex, box: { x: 0, y: 0, width: 1, height: 1 }, quality: { score: 1, issues: [] }, candidates: subjectIds.map((s, i) => candidate(s, i + 1)) });
  // A stored search as read (names joined), parsed by its schema.
  const result = shownSearchResult.parse({
    searchId: 's',
    createdAt: '2026-01-31T09:30:00.000Z',
    mode: 'investigative',
    probe: { sha256: 'ab', width: 1, height: 1, facesDetected: 2 },
    faces: [face(0, ['x', 'y']), face(1, ['x'])],
    humanReviewRequired: true,
    reviewReasons: ['CANDIDATES_ARE_LEADS_ONLY'],
  });
  const review = (faceIndex: number, subjectId: string, decision: ReviewDecision, holder: string) => ({
    id: `${faceIndex}-${subjectId}-${holder}`, searchId: 's', faceIndex, subjectId, decision, rationale: 'r', keyId: `key-${holder}`, holder, organization: 'o', checklist: null, createdAt: '2026-01-31T10:00:00.000Z',
  });

  it('annotates each candidate with its own reviews only and lists every review', () => {
    const reviews = [review(0, 'x', 'confirmed', 'a'), review(0, 'x', 'confirmed', 'b'), review(1, 'x', 'rejected', 'a')];
    const out = withReviewState(result, reviews);
    expect(out.faces[0]!.candidates.map((c) => c.review?.state)).toEqual(['confirmed', 'pending']);
    expect(out.faces[1]!.candidates[0]!.review).toEqual({ state: 'rejected', confirmations: 0, rejections: 1 });
    expect(out.reviews).toHaveLength(3);
  });

  it("blinds a reviewer to others' decisions on candidates they have not decided, and shows the ones they have", () => {
    const reviews = [review(0, 'x', 'confirmed', 'a'), review(0, 'y', 'rejected', 'a'), review(0, 'x', 'confirmed', 'b')];
    const out = blindFor(result, reviews, 'b');
    expect(out.blind).toBe(true);
    expect(out.faces[0]!.candidates.map((c) => c.review)).toEqual([{ state: 'confirmed', confirmations: 2, rejections: 0 }, { state: 'blind' }]);
    expect(out.reviews?.map((r) => `${r.subjectId}:${r.holder}`)).toEqual(['x:a', 'x:b']);
  });
});
