import { reviewState, withReviewState, type ReviewDecision } from '../../src/domain/review-state';

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

  it('is rejected by a single rejection, whatever else was decided', () => {
    expect(reviewState([d('rejected', 'c')]).state).toBe('rejected');
    expect(reviewState([d('confirmed', 'a'), d('confirmed', 'b'), d('rejected', 'c')])).toMatchObject({ state: 'rejected', confirmations: 2, rejections: 1 });
    expect(reviewState([d('inconclusive', 'a'), d('rejected', 'b')]).state).toBe('rejected');
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
  it('annotates each candidate with its own reviews only and lists every review', () => {
    const result = {
      searchId: 's',
      faces: [
        { faceIndex: 0, candidates: [{ subjectId: 'x' }, { subjectId: 'y' }] },
        { faceIndex: 1, candidates: [{ subjectId: 'x' }] },
      ],
    };
    const reviews = [
      { faceIndex: 0, subjectId: 'x', decision: 'confirmed' as const, keyId: 'a' },
      { faceIndex: 0, subjectId: 'x', decision: 'confirmed' as const, keyId: 'b' },
      { faceIndex: 1, subjectId: 'x', decision: 'rejected' as const, keyId: 'a' },
    ];
    const out = withReviewState(result, reviews) as { faces: Array<{ candidates: Array<{ review: { state: string } }> }>; reviews: unknown[] };
    expect(out.faces[0]!.candidates.map((c) => c.review.state)).toEqual(['confirmed', 'pending']);
    expect(out.faces[1]!.candidates[0]!.review).toEqual({ state: 'rejected', confirmations: 0, rejections: 1 });
    expect(out.reviews).toHaveLength(3);
  });

  it('leaves a verification result (no faces) as it is, plus its reviews list', () => {
    expect(withReviewState({ verificationId: 'v', match: true }, [])).toEqual({ verificationId: 'v', match: true, reviews: [] });
  });
});
