import sharp from 'sharp';
import { createInProcessFaceEngine } from '../../src/platform/face/face-engine';
import { readManifest } from '../../src/platform/face/model-manifest';
import {
  assessQuality,
  estimatePose,
  laplacianVariance,
  QUALITY_THRESHOLDS,
  qualityThresholdsFor,
  ramp,
  type Point,
  type QualityMeasures,
} from '../../src/platform/face/quality';
import { sample } from '../helpers/fixtures';
import { cropFace } from '../helpers/images';

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

  it('estimates the same pose from a detector’s five points (eyes, nose tip, mouth corners) as from 68', () => {
    for (const shift of [0, 15, 30]) {
      const lm = face(shift);
      const five: Point[] = [lm[36]!, lm[42]!, lm[30]!, { x: 80, y: 160 }, { x: 120, y: 160 }];
      const [a, b] = [estimatePose(lm), estimatePose(five)];
      expect(b.yawDeg).toBeCloseTo(a.yawDeg, 6);
      expect(b.pitchDeg).toBeCloseTo(a.pitchDeg, 6);
      expect(b.interEyePx).toBe(a.interEyePx);
    }
  });

  it('measures sharpness as Laplacian variance: zero on a flat image, high on a checkerboard', () => {
    const n = 16;
    expect(laplacianVariance(new Array(n * n).fill(128), n, n)).toBe(0);
    const board = Array.from({ length: n * n }, (_, i) => ((i % n) + Math.floor(i / n)) % 2 ? 255 : 0);
    expect(laplacianVariance(board, n, n)).toBeGreaterThan(1e5);
  });
});

/**
 * Per-model calibration (docs/ACCURACY.md, "Enrolment quality gate"). The default engine's thresholds come from its manifest:
 * measured on LFW, where the old (face-api SSD era) values refused 30 % of one-face photos for softness that does not hurt
 * matching, while its UltraFace confidences sit at ≈ 1.0 for every real face.
 */
describe('quality calibration of the default model (ultraface-mfn512)', () => {
  const ultraface = qualityThresholdsFor(readManifest('ultraface-mfn512@fp0.0.1'));
  /** LFW's 25th-percentile face on this engine: 250 px photo, inter-eye 40 px, soft (sharpness 0.015), frontal, confident. */
  const lfwSoft: QualityMeasures = { interEyePx: 40, detectionScore: 1, yawDeg: 5, pitchDeg: 5, sharpness: 0.015, luminanceMean: 110, luminanceStd: 50 };

  it('passes a face only as soft as LFW\'s, which the SSD-era blur thresholds refused', () => {
    expect(assessQuality(lfwSoft).score).toBeLessThan(0.5);
    const q = assessQuality(lfwSoft, ultraface);
    expect(q.issues).toEqual([]);
    expect(q.score).toBeGreaterThan(0.55);
  });

  it('still refuses blur at the level where LFW genuine pairs start to fail (sharpness < 0.008)', () => {
    const q = assessQuality({ ...lfwSoft, sharpness: 0.006 }, ultraface);
    expect(q.issues).toEqual(['BLUR']);
    expect(q.score).toBeLessThan(0.5);
  });

  it('reads detection confidence on UltraFace\'s scale, SSD\'s elsewhere', () => {
    // UltraFace's cut is 0.7, SSD's issue threshold: on SSD's ramp no UltraFace detection could ever be flagged. Its main faces
    // score ≥ 0.998 (99 % of LFW's); 0.75 is a weak one, a fair SSD confidence.
    expect(assessQuality({ ...good, detectionScore: 0.75 }).issues).toEqual([]);
    expect(assessQuality({ ...good, detectionScore: 0.75 }, ultraface).issues).toEqual(['LOW_DETECTION_SCORE']);
    expect(qualityThresholdsFor(readManifest('faceapi-ssd-r34-128-flip@1.7.15'))).toEqual(QUALITY_THRESHOLDS);
  });

  describe('on a real photo, with the real model', () => {
    let engine: Awaited<ReturnType<typeof createInProcessFaceEngine>>;
    let face: Buffer;
    beforeAll(async () => {
      engine = await createInProcessFaceEngine({ backend: 'wasm', maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024, modelId: 'ultraface-mfn512@fp0.0.1' });
      // An LFW-like photo: one face of sample 6 cut to 250x250 (inter-eye ≈ 46 px).
      const photo = sample(6);
      const box = (await engine.analyze(photo)).faces[1]!.box;
      face = await sharp(await cropFace(photo, box, 0.8)).resize(250, 250, { fit: 'fill' }).toBuffer();
    });
    afterAll(() => engine?.close());
    const soften = async (sigma: number) => (await engine.analyze(await sharp(face).blur(sigma).jpeg({ quality: 90 }).toBuffer())).faces;

    it('enrols it softened to LFW\'s level (the old calibration refused it)', async () => {
      const faces = await soften(0.8);
      expect(faces).toHaveLength(1);
      const q = faces[0]!.quality;
      expect(q.metrics.sharpness).toBeLessThan(0.02);
      expect(assessQuality(q.metrics as unknown as QualityMeasures).score).toBeLessThan(0.5);
      expect(q.issues).toEqual([]);
      expect(q.score).toBeGreaterThanOrEqual(0.5);
    });

    it('refuses it blurred further, for BLUR', async () => {
      const faces = await soften(1.6);
      expect(faces).toHaveLength(1);
      expect(faces[0]!.quality.issues).toContain('BLUR');
      expect(faces[0]!.quality.score).toBeLessThan(0.5);
    });
  });
});
