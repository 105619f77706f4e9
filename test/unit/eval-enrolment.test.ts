import { enrolmentCounts, enrolOutcome, tarByCategory, type AnalysedPhoto } from '../../scripts/lib/eval-enrolment';

/** npm run eval --enrolment: the API's gate on an analysed photo, and TAR split by what enrolling the gallery side takes. */
const rules = { minQuality: 0.5, floorQuality: 0.25, dominantRatio: 2 };
const unit = (angle: number) => Float32Array.from([Math.cos(angle), Math.sin(angle)]);
const face = (x: number, y: number, size: number, score: number, angle = 0, issues: string[] = []) => ({
  box: { x, y, width: size, height: size },
  quality: { score, issues: issues as never[] },
  embedding: unit(angle),
});
const photo = (...faces: ReturnType<typeof face>[]): AnalysedPhoto => ({ width: 250, height: 250, faces });

describe('enrolment outcome of one photo', () => {
  it('passes the only good face, and the dominant one of two', () => {
    expect(enrolOutcome(photo(face(75, 75, 100, 0.9)), rules)).toMatchObject({ verdict: 'enrolled', category: 'passes', galleryFace: 0, centreFace: 0 });
    expect(enrolOutcome(photo(face(75, 75, 100, 0.9), face(0, 0, 40, 0.9)), rules)).toMatchObject({ verdict: 'enrolled', category: 'passes', galleryFace: 0 });
  });

  it('counts an ambiguous pair as MULTIPLE_FACES that the enroller resolves by choosing the face nearest the centre', () => {
    const o = enrolOutcome(photo(face(0, 0, 100, 0.9), face(80, 80, 90, 0.9)), rules);
    expect(o).toMatchObject({ verdict: 'MULTIPLE_FACES', category: 'chosen', galleryFace: 1, centreFace: 1 });
  });

  it('splits LOW_QUALITY into overrulable (with its issues) and under the floor, and a photo with no face is a failure to acquire', () => {
    expect(enrolOutcome(photo(face(75, 75, 100, 0.4, 0, ['BLUR'])), rules)).toMatchObject({ verdict: 'LOW_QUALITY (overrulable)', issues: ['BLUR'], category: 'overruled', galleryFace: 0 });
    expect(enrolOutcome(photo(face(75, 75, 100, 0.45)), rules)).toMatchObject({ issues: ['none named'] });
    expect(enrolOutcome(photo(face(75, 75, 100, 0.1, 0, ['EXTREME_POSE'])), rules)).toMatchObject({ verdict: 'LOW_QUALITY (under the floor)', category: 'refused', galleryFace: null });
    const none = enrolOutcome(photo(), rules);
    expect(none).toMatchObject({ verdict: 'NO_FACE', category: 'refused', centreFace: null });
    expect(enrolmentCounts([none, enrolOutcome(photo(face(75, 75, 100, 0.9)), rules)])).toMatchObject({ photos: 2, fta: 1, fte: 1, verdicts: { NO_FACE: 1, enrolled: 1 } });
  });
});

describe('TAR by gallery category', () => {
  it('reads every category at one threshold set by all impostor pairs of enrolled gallery images', () => {
    // Two people, two photos each; B's first photo is below the gate (overruled) and its template is off by 0.6 rad.
    const items = [
      { identity: 'A', photo: photo(face(75, 75, 100, 0.9, 0)) },
      { identity: 'A', photo: photo(face(75, 75, 100, 0.9, 0.05)) },
      { identity: 'B', photo: photo(face(75, 75, 100, 0.4, 2.2)) },
      { identity: 'B', photo: photo(face(75, 75, 100, 0.9, 1.6)) },
    ].map((it) => ({ ...it, outcome: enrolOutcome(it.photo, rules) }));
    const r = tarByCategory(items, null, ['2e-1']);
    expect(r.orderedPairs).toEqual({ genuine: 4, impostors: 8 });
    expect(r.byCategory.passes).toMatchObject({ galleryImages: 3, genuinePairs: 3 });
    expect(r.byCategory.overruled).toMatchObject({ galleryImages: 1, genuinePairs: 1 });
    // FAR 2e-1 of 8 impostors: one may be, and the two closest (1.55 rad, gallery and probe either way) tie, so none is; the closest impostor pair is 1.55 rad apart, B's genuine pair 0.6.
    expect(r.byCategory.passes!.tar).toEqual({ '2e-1': 1 });
    expect(r.byCategory.overruled!.tar).toEqual({ '2e-1': 1 });
    expect(r.enrolledWithEnroller.genuinePairs).toBe(4);
  });
});
