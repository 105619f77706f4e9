import { buildTracks, iou, type FrameFaces } from '../../src/modules/search/face-tracks';
import type { Box, DetectedFace } from '../../src/shared/face.types';
import { mergeSamples, parseFrameTimes } from '../../src/platform/video/decoder';

/** The tracker on hand-made faces: unit embeddings at chosen angles, boxes at chosen places. */
const unit = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
const face = (box: Box, deg: number, score = 0.8): DetectedFace => ({ box, detectionScore: 0.9, quality: { score, issues: [], metrics: {} }, embedding: unit(deg) });
const at = (x: number, y = 0, w = 100): Box => ({ x, y, width: w, height: w });
const settings = { linkSimilarity: 0.6, reacquireSimilarity: 0.9, minIou: 0.2, maxGapSeconds: 1.5 };
const frames = (...fs: DetectedFace[][]): FrameFaces[] => fs.map((faces, i) => ({ seconds: i / 2, faces }));

describe('buildTracks', () => {
  it('iou of two boxes', () => {
    expect(iou(at(0), at(0))).toBe(1);
    expect(iou(at(0), at(50))).toBeCloseTo(50 / 150);
    expect(iou(at(0), at(200))).toBe(0);
  });

  it('one face moving and changing a little is one track; its best face is the best quality', () => {
    const t = buildTracks(frames([face(at(0), 0, 0.5)], [face(at(20), 10, 0.9)], [face(at(40), 20, 0.7)]), settings);
    expect(t).toHaveLength(1);
    expect(t[0]!.members).toHaveLength(3);
    expect(t[0]!.best.frame).toBe(1);
    expect([t[0]!.startSeconds, t[0]!.endSeconds]).toEqual([0, 1]);
  });

  it('a different person in the same place (a cut) opens a new track', () => {
    // cos 90° → similarity 0.5: below the overlap bar.
    const t = buildTracks(frames([face(at(0), 0)], [face(at(0), 0)], [face(at(0), 90)], [face(at(0), 90)]), settings);
    expect(t.map((x) => x.members.length)).toEqual([2, 2]);
  });

  it('after a scene change a face in the same place joins only above the strict bar', () => {
    // similarity at 50°: 0.82, above the overlap bar (0.6), below the strict one (0.9).
    const across = (cut: boolean) => buildTracks([{ seconds: 0, faces: [face(at(0), 0)] }, { seconds: 0.3, cut, faces: [face(at(0), 50)] }], settings);
    expect(across(false)).toHaveLength(1);
    expect(across(true)).toHaveLength(2);
    // The same person (30°: 0.933) is carried across the cut.
    expect(buildTracks([{ seconds: 0, faces: [face(at(0), 0)] }, { seconds: 0.3, cut: true, faces: [face(at(400), 30)] }], settings)).toHaveLength(1);
  });

  it('the same person elsewhere joins only above the strict bar', () => {
    // similarity at 30°: (1 + 0.866) / 2 = 0.933 ≥ 0.9 joins; at 50°: 0.82 does not without overlap.
    expect(buildTracks(frames([face(at(0), 0)], [face(at(500), 30)]), settings)).toHaveLength(1);
    expect(buildTracks(frames([face(at(0), 0)], [face(at(500), 50)]), settings)).toHaveLength(2);
    expect(buildTracks(frames([face(at(0), 0)], [face(at(10), 50)]), settings)).toHaveLength(1);
  });

  it('two people side by side stay two tracks (each face joins one track once)', () => {
    const t = buildTracks(frames([face(at(0), 0), face(at(300), 90)], [face(at(310), 85), face(at(10), 5)], [face(at(20), 10), face(at(320), 80)]), settings);
    expect(t).toHaveLength(2);
    expect(t.map((x) => x.members.map((m) => Math.round(m.face.box.x)))).toEqual([[0, 10, 20], [300, 310, 320]]);
  });

  it('a gap of up to maxGapSeconds between two faces is bridged; a longer one closes the track', () => {
    const p = face(at(0), 0);
    expect(buildTracks(frames([p], [], [], [p]), settings)).toHaveLength(1);
    expect(buildTracks(frames([p], [], [], [], [p]), settings)).toHaveLength(2);
  });
});

describe('mergeSamples', () => {
  it('puts scene samples between fixed ones by time, keeps a frame sampled both ways once, and marks the frame after each scene change', () => {
    const m = mergeSamples({ fixed: [0, 0.5, 1, 1.5], scene: [0.7, 1], changes: [0.7, 1, 1.2] });
    expect(m.map((f) => [f.seconds, f.source, f.sceneChange])).toEqual([
      [0, 'fixed', false],
      [0.5, 'fixed', false],
      [0.7, 'scene', true],
      [1, 'fixed', true],
      // A change past the scene-frame cap (1.2) still marks the next sampled frame.
      [1.5, 'fixed', true],
    ]);
  });

  it('without scene changes the fixed samples are unchanged', () => {
    expect(mergeSamples({ fixed: [0, 0.5], scene: [], changes: [] }).map((f) => [f.seconds, f.sceneChange])).toEqual([[0, false], [0.5, false]]);
  });
});

describe('parseFrameTimes', () => {
  it("reads pts_time of ffmpeg's metadata=print log", () => {
    expect(parseFrameTimes('frame:0    pts:0       pts_time:0\nfacematch.sample=fixed\nframe:1    pts:20480   pts_time:2\nlavfi.scene_score=0.657198\n')).toEqual([0, 2]);
  });
});
