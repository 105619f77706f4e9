import { assessQuality, estimatePose, laplacianVariance, ramp, type Point, type QualityMeasures } from '../../src/infra/face/quality';

const good: QualityMeasures = { interEyePx: 80, detectionScore: 0.98, yawDeg: 3, pitchDeg: 2, sharpness: 0.1, luminanceMean: 120, luminanceStd: 50 };

/** A frontal 68-point face: eyes at y=100, nose tip centred at y=130, mouth at y=155; `shift` moves the nose sideways. */
function face(noseShift = 0, ipd = 60): Point[] {
  const lm: Point[] = Array.from({ length: 68 }, () => ({ x: 100, y: 100 }));
  for (let i = 36; i < 42; i++) lm[i] = { x: 100 - ipd / 2, y: 100 };
  for (let i = 42; i < 48; i++) lm[i] = { x: 100 + ipd / 2, y: 100 };
  lm[30] = { x: 100 + noseShift, y: 133 };
  for (let i = 48; i < 68; i++) lm[i] = { x: 100, y: 160 };
  return lm;
}

describe('quality rules', () => {
  it('ramps 0 → 0.5 → 1 across bad, threshold and good in either direction', () => {
    expect([ramp(0, 0, 10, 20), ramp(10, 0, 10, 20), ramp(20, 0, 10, 20), ramp(5, 0, 10, 20)]).toEqual([0, 0.5, 1, 0.25]);
    expect([ramp(90, 90, 40, 10), ramp(40, 90, 40, 10), ramp(0, 90, 40, 10)]).toEqual([0, 0.5, 1]);
  });

  it('scores a large, sharp, frontal, well-lit face near 1 with no issues', () => {
    const q = assessQuality(good);
    expect(q.issues).toEqual([]);
    expect(q.score).toBeGreaterThan(0.9);
    expect(q.metrics).toMatchObject({ interEyePx: 80, yawDeg: 3 });
  });

  it.each([
    ['SMALL_FACE', { interEyePx: 14 }],
    ['BLUR', { sharpness: 0.005 }],
    ['EXTREME_POSE', { yawDeg: -50 }],
    ['EXTREME_POSE', { pitchDeg: 40 }],
    ['LOW_DETECTION_SCORE', { detectionScore: 0.6 }],
    ['POOR_EXPOSURE', { luminanceMean: 25 }],
    ['POOR_EXPOSURE', { luminanceMean: 240 }],
    ['POOR_EXPOSURE', { luminanceStd: 8 }],
  ])('flags %s and scores below 0.5 for %j', (issue, change) => {
    const q = assessQuality({ ...good, ...change });
    expect(q.issues).toEqual([issue]);
    expect(q.score).toBeLessThan(0.5);
  });

  it('estimates yaw from the nose tip offset and ignores in-plane roll', () => {
    expect(Math.abs(estimatePose(face(0)).yawDeg)).toBeLessThan(1);
    expect(estimatePose(face(30)).yawDeg).toBeGreaterThan(35);
    const roll = (p: Point): Point => ({ x: 100 + (p.x - 100) * Math.cos(0.4) - (p.y - 100) * Math.sin(0.4), y: 100 + (p.x - 100) * Math.sin(0.4) + (p.y - 100) * Math.cos(0.4) });
    const rolled = estimatePose(face(0).map(roll));
    expect(Math.abs(rolled.yawDeg)).toBeLessThan(1);
    expect(rolled.rollDeg).toBeCloseTo(22.9, 0);
    expect(Math.abs(rolled.pitchDeg)).toBeLessThan(2);
    expect(estimatePose(face(0, 12)).interEyePx).toBe(12);
  });

  it('measures sharpness as Laplacian variance: zero on a flat image, high on a checkerboard', () => {
    const n = 16;
    expect(laplacianVariance(new Array(n * n).fill(128), n, n)).toBe(0);
    const board = Array.from({ length: n * n }, (_, i) => ((i % n) + Math.floor(i / n)) % 2 ? 255 : 0);
    expect(laplacianVariance(board, n, n)).toBeGreaterThan(1e5);
  });
});
