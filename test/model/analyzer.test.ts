import sharp from 'sharp';
import { createInProcessFaceEngine } from '../../src/platform/face/face-engine';
import { similarityFromCosine } from '../../src/shared/calibration';
import { createCalibrationStore } from '../../src/platform/face/calibration.store';
import { finishDescriptor } from '../../src/platform/face/descriptor';
import { listManifests, readManifest, readVerifiedCentre } from '../../src/platform/face/model-manifest';
import { sample } from '../helpers/fixtures';
import { blankImage, cropFace, withExifOrientation } from '../helpers/images';

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const area = (b: { width: number; height: number }) => b.width * b.height;

/**
 * Real models (in-process) on face-api's six group photos and images derived from them: every pipeline the service ships —
 * the ONNX Runtime default (UltraFace + 68 landmarks + 512-d MobileFaceNet), and on TensorFlow.js WASM face-api's 128-d net
 * with flip TTA and HSE FaceRes 1024-d (a TF graph model).
 */
const families = ['ultraface-mfn512@fp0.0.1', 'yunet-mfn512@fp0.0.1', 'faceapi-ssd-r34-128-flip@1.7.15', 'ssd-faceres-1024-flip@hm3.0.4'].filter((id) =>
  listManifests().has(id),
);

describe.each(families)('face analysis with %s', (modelId) => {
  const manifest = readManifest(modelId);
  let engine: Awaited<ReturnType<typeof createInProcessFaceEngine>>;
  beforeAll(async () => {
    engine = await createInProcessFaceEngine({ backend: 'wasm', maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024, modelId });
  });
  afterAll(() => engine?.close());

  it('reports a stable model id with a weights digest', () => {
    const backend = manifest.runtime === 'onnx' ? 'onnxruntime-cpu' : 'wasm';
    expect(engine.model).toMatchObject({ id: modelId, dimensions: manifest.embeddingSize, backend });
    expect(engine.model.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([1, 2, 3, 4, 5, 6] as const)('finds at least two faces in group photo sample%i, largest first, with unit embeddings', async (n) => {
    const r = await engine.analyze(sample(n));
    expect(r.faces.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < r.faces.length; i++) expect(area(r.faces[i - 1]!.box)).toBeGreaterThanOrEqual(area(r.faces[i]!.box));
    for (const f of r.faces) {
      expect(f.embedding).toHaveLength(manifest.embeddingSize);
      expect(Math.hypot(...f.embedding)).toBeCloseTo(1, 5);
      expect(f.quality.score).toBeGreaterThanOrEqual(0);
      expect(f.quality.score).toBeLessThanOrEqual(1);
      expect(f.box.x + f.box.width).toBeLessThanOrEqual(r.width);
    }
  });

  it('finds no face in a plain generated image', async () => {
    expect((await engine.analyze(await blankImage())).faces).toEqual([]);
  });

  it('keeps only the face nearest the centre when asked, and returns an aligned JPEG crop', async () => {
    const r = await engine.analyze(sample(4), { centreFaceOnly: true, withCrops: true });
    expect(r.faces).toHaveLength(1);
    const meta = await sharp(r.faces[0]!.cropJpeg!).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 256, 256]);
  });

  it('finds the face in tight, frame-filling crops (LFW-style 250x250), matching it at FMR ≤ 1e-3', async () => {
    const { faces } = await engine.analyze(sample(1));
    const threshold = createCalibrationStore()(modelId).thresholdFor(1e-3);
    let found = 0;
    for (const [i, f] of faces.entries()) {
      const tight = await sharp(await cropFace(sample(1), f.box, 0)).resize(250, 250, { fit: 'fill' }).jpeg().toBuffer();
      const r = await engine.analyze(tight, { centreFaceOnly: true });
      if (r.faces.length !== 1) continue;
      const sims = faces.map((g) => similarityFromCosine(dot(r.faces[0]!.embedding, g.embedding)));
      if (sims[i]! >= threshold && sims.every((s, j) => j === i || s < sims[i]!)) found++;
    }
    // YuNet's five-point alignment does not match the second face of this photo (turned, in shadow) from its own tight
    // crop: its self-similarity there is 0.27, no higher than to the third face (docs/ACCURACY.md "Known misses"). Every
    // other face must match; a second miss fails the test.
    const knownMisses = modelId === 'yunet-mfn512@fp0.0.1' ? 1 : 0;
    expect(found).toBe(faces.length - knownMisses);
  });

  it('matches the same face after re-encoding, rescaling, greyscale and EXIF rotation above every other face in the photo', async () => {
    const photo = sample(1);
    const { faces } = await engine.analyze(photo);
    const crop = await cropFace(photo, faces[0]!.box, 0.35);
    const ref = (await engine.analyze(crop, { centreFaceOnly: true })).faces[0]!.embedding;
    const others = faces.slice(1).map((f) => dot(ref, f.embedding));
    const bestOther = Math.max(...others);
    const variants: Record<string, Buffer> = {
      jpegQ60: await sharp(crop).jpeg({ quality: 60 }).toBuffer(),
      half: await sharp(crop).resize({ width: Math.round((await sharp(crop).metadata()).width! / 2) }).jpeg().toBuffer(),
      grey: await sharp(crop).greyscale().jpeg().toBuffer(),
      exif90: await withExifOrientation(crop, 6),
    };
    for (const [name, buf] of Object.entries(variants)) {
      const f = (await engine.analyze(buf, { centreFaceOnly: true })).faces[0];
      expect({ name, found: !!f }).toEqual({ name, found: true });
      const sim = dot(ref, f!.embedding);
      expect({ name, clearlyAbove: sim > bestOther + 0.05 }).toEqual({ name, clearlyAbove: true });
    }
  });

  // TensorFlow.js keeps tensors until disposed; ONNX Runtime has no such registry (its memory test is engine-limits.test.ts).
  // 20 analyses cover every option combination below; the timeout allows for a 2-core machine shared with other jobs.
  if (manifest.runtime !== 'onnx') it('does not leak tensors across 20 analyses (with crops, and with the evaluation variants)', async () => {
    const small = await sharp(sample(2)).resize(640).jpeg().toBuffer();
    await engine.analyze(small, { withCrops: true, variants: true });
    const before = engine.numTensors();
    for (let i = 0; i < 20; i++) {
      await engine.analyze(i % 10 === 0 ? await blankImage(200, 200) : small, { withCrops: i % 2 === 0, variants: i % 5 === 1 });
    }
    expect(engine.numTensors()).toBe(before);
  }, 600_000);

  it('returns every pipeline variant raw on request; the configured one, finished with the model centre, is the template', async () => {
    const r = await engine.analyze(await sharp(sample(2)).resize(640).jpeg().toBuffer(), { variants: true });
    const f = r.faces[0]!;
    const onnx = manifest.runtime === 'onnx';
    expect(Object.keys(f.variants!).sort()).toEqual(onnx ? ['aligned', 'aligned+flip'] : ['aligned', 'aligned+flip', 'axis', 'axis+flip']);
    for (const v of Object.values(f.variants!)) expect(v).toHaveLength(manifest.embeddingSize);
    const { pipeline } = manifest;
    const configured = `${onnx || pipeline.alignRotation ? 'aligned' : 'axis'}${pipeline.flipTta ? '+flip' : ''}`;
    const centre = readVerifiedCentre(manifest);
    expect(dot(finishDescriptor([f.variants![configured]!], centre), f.embedding)).toBeCloseTo(1, 4);
    const fin = (k: string) => finishDescriptor([f.variants![k]!], centre);
    expect(dot(fin('aligned'), fin(onnx ? 'aligned+flip' : 'axis'))).toBeLessThan(0.9999);
  });
});
