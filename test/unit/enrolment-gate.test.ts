import { decideEnrolment, dominance } from '../../src/modules/gallery/enrolment-gate';
import { AppError } from '../../src/shared/errors';
import type { QualityIssue } from '../../src/shared/face.types';

/** The enrolment gate's rules on plain boxes and scores (the API and scripts/enrol-gate.ts run this function). */
const face = (x: number, size: number, score = 0.9) => ({ box: { x, y: 10, width: size, height: size }, quality: { score, issues: (score < 0.5 ? ['BLUR'] : []) as QualityIssue[] } });
const rules = { minQuality: 0.5, floorQuality: 0.25, dominantRatio: 2 };
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof AppError ? { code: e.code, details: e.details } : e;
  }
  return null;
};

describe('enrolment gate', () => {
  it('takes the only face, and the largest when its area is at least dominantRatio × every other', () => {
    expect(decideEnrolment([face(0, 100)], rules)).toEqual({ index: 0, by: 'only', otherFaces: [], qualityOverruled: false, overruledBy: null });
    // 100² / 70² = 2.04: dominant; listed second on purpose (the gate does not rely on the engine's order).
    expect(decideEnrolment([face(300, 70), face(0, 100)], rules)).toMatchObject({ index: 1, by: 'dominant', otherFaces: [face(300, 70).box] });
    expect(dominance([face(0, 100), face(300, 72)])).toBeCloseTo(1.93, 2);
  });

  it('refuses an ambiguous photo with every box, and every multi-face photo with the rule off', () => {
    expect(codeOf(() => decideEnrolment([face(0, 100), face(300, 72)], rules))).toEqual({
      code: 'MULTIPLE_FACES',
      details: { facesDetected: 2, boxes: [face(0, 100).box, face(300, 72).box], dominantRatio: 2 },
    });
    expect(codeOf(() => decideEnrolment([face(0, 100), face(300, 10)], { ...rules, dominantRatio: 0 }))).toMatchObject({ code: 'MULTIPLE_FACES', details: { dominantRatio: null } });
  });

  it('takes the chosen face by index or by the box it overlaps most; NO_FACE with the boxes when there is none', () => {
    const faces = [face(0, 100), face(300, 90), face(600, 80)];
    expect(decideEnrolment(faces, rules, { choice: { faceIndex: 2 } })).toMatchObject({ index: 2, by: 'faceIndex', otherFaces: [faces[0]!.box, faces[1]!.box] });
    expect(decideEnrolment(faces, rules, { choice: { box: { x: 320, y: 0, width: 100, height: 100 } } })).toMatchObject({ index: 1, by: 'box' });
    expect(codeOf(() => decideEnrolment(faces, rules, { choice: { faceIndex: 3 } }))).toMatchObject({ code: 'NO_FACE', details: { facesDetected: 3 } });
    expect(codeOf(() => decideEnrolment(faces, rules, { choice: { box: { x: 2000, y: 0, width: 10, height: 10 } } }))).toMatchObject({ code: 'NO_FACE', details: { boxes: faces.map((f) => f.box) } });
  });

  it('refuses a face under the gate unless accepted, and under the floor always', () => {
    expect(codeOf(() => decideEnrolment([face(0, 100, 0.4)], rules))).toMatchObject({ code: 'LOW_QUALITY', details: { score: 0.4, minScore: 0.5, floor: 0.25, overrulable: true, issues: ['BLUR'] } });
    expect(decideEnrolment([face(0, 100, 0.4)], rules, { acceptQuality: true })).toMatchObject({ index: 0, qualityOverruled: true });
    expect(codeOf(() => decideEnrolment([face(0, 100, 0.2)], rules, { acceptQuality: true }))).toMatchObject({ code: 'LOW_QUALITY', details: { overrulable: false } });
    expect(decideEnrolment([face(0, 100, 0.6)], rules, { acceptQuality: true })).toMatchObject({ qualityOverruled: false });
  });

  it("follows the watchlist's policy between the floor and the gate: never refuses an accepted face, always takes it unasked", () => {
    expect(codeOf(() => decideEnrolment([face(0, 100, 0.4)], rules, { acceptQuality: true, policy: 'never' }))).toMatchObject({ code: 'LOW_QUALITY', details: { overrulable: false, policy: 'never' } });
    expect(decideEnrolment([face(0, 100, 0.4)], rules, { policy: 'always' })).toMatchObject({ qualityOverruled: true, overruledBy: 'watchlist' });
    expect(decideEnrolment([face(0, 100, 0.4)], rules, { acceptQuality: true })).toMatchObject({ overruledBy: 'request' });
    expect(codeOf(() => decideEnrolment([face(0, 100, 0.2)], rules, { policy: 'always' }))).toMatchObject({ details: { overrulable: false, policy: 'always' } });
    expect(decideEnrolment([face(0, 100, 0.6)], rules, { policy: 'never' })).toMatchObject({ qualityOverruled: false, overruledBy: null });
  });
});
