import sharp from 'sharp';
import { createInProcessFaceEngine } from '../../src/platform/face/face-engine';
import { createCalibrationStore } from '../../src/platform/face/calibration.store';
import { similarityFromCosine } from '../../src/shared/calibration';
import { DEFAULT_MODEL_ID } from '../../src/platform/face/model-manifest';
import { ValidationError } from '../../src/shared/errors';
import { sample } from '../helpers/fixtures';

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/**
 * The default model (real, in-process) embedding face chips another deployment cut: the reviewer crops of face-api's group
 * photos, analysed without detection, give templates of the same faces (at the screening threshold or above, against the
 * template of the photo they came from), one per chip in order; chips of the wrong geometry are refused before decoding.
 */
describe('analyzeChips with the default model', () => {
  let engine: Awaited<ReturnType<typeof createInProcessFaceEngine>>;
  beforeAll(async () => {
    engine = await createInProcessFaceEngine({ backend: 'wasm', maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024, modelId: DEFAULT_MODEL_ID });
  });
  afterAll(() => engine?.close());

  it('embeds the crops of a group photo as the same faces, in order, above the screening threshold', async () => {
    const photo = await engine.analyze(sample(2), { withCrops: true });
    expect(photo.faces.length).toBeGreaterThanOrEqual(2);
    const chips = photo.faces.map((f) => f.cropJpeg!);
    const r = await engine.analyzeChips!(chips);
    expect(r.faces).toHaveLength(chips.length);
    expect([r.width, r.height]).toEqual([256, 256]);
    const threshold = createCalibrationStore()(DEFAULT_MODEL_ID).thresholdFor(1e-4);
    for (const [i, f] of r.faces.entries()) {
      expect(f.embedding).toHaveLength(engine.model.dimensions);
      const own = similarityFromCosine(dot(f.embedding, photo.faces[i]!.embedding));
      expect(own).toBeGreaterThanOrEqual(threshold);
      // Each chip is nearest to its own face of the photo, not to another person's.
      for (const [j, other] of photo.faces.entries()) if (j !== i) expect(own).toBeGreaterThan(similarityFromCosine(dot(f.embedding, other.embedding)));
    }
  });

  it('refuses a chip that is not square or is too small, as VALIDATION_FAILED', async () => {
    const wide = await sharp(sample(1)).resize(300, 200).jpeg().toBuffer();
    await expect(engine.analyzeChips!([wide])).rejects.toThrow(ValidationError);
    const tiny = await sharp(sample(1)).resize(32, 32).jpeg().toBuffer();
    await expect(engine.analyzeChips!([tiny])).rejects.toThrow(/square, 64 to 1024/);
  });
});
