import type { AnalyzeOptions, Box, FaceQuality, ModelInfo } from '../../domain/face.types';
import { area, chipTransform } from './align';
import { initFaceRuntime, type BackendKind, type FaceRuntime } from './backend';
import type { RawImage } from './decode';
import { modelInfo, readManifest, readVerifiedWeights, type ModelManifest } from './model-manifest';
import { assessQuality, measureQuality, rgbToGrey, type Point } from './quality';

/**
 * The in-process face analyzer: SSD-MobileNetV1 detection → 68 landmarks → eye-levelled 150x150 chip → 128-d descriptor.
 * One per thread: tfjs and face-api's nets are per-isolate state, so the worker pool runs one of these in each worker.
 * Every tensor created here is disposed before `analyze` returns (tests assert `numTensors()` stays flat).
 */
export interface AnalyzerConfig {
  backend: BackendKind;
  /** SSD confidence below which detections are dropped (0-1). */
  minDetectionScore?: number;
  /** Border for the second detection pass, as a fraction of the longer side (default DETECTION_PAD; 0 disables the pass). */
  detectionPad?: number;
  /** Which models/*.manifest.json to run (default DEFAULT_MODEL_ID). */
  modelId?: string;
}

export interface FaceAnalysis {
  /** In the pixel space of the (EXIF-rotated) input. */
  box: Box;
  detectionScore: number;
  quality: FaceQuality;
  /** L2-normalised, 128 values. */
  embedding: number[];
  /** 68 landmarks in input pixel space. */
  landmarks: Point[];
  /** Aligned RGB crop for reviewers (withCrops only). */
  crop?: RawImage;
  /** Every chip geometry × flip combination (AnalyzeOptions.variants only): what `npm run eval` compares. */
  variants?: EmbeddingVariants;
}

/** Keys: `aligned` (eye-levelled chip) or `axis` (face-api's axis-aligned chip), `+flip` with flip test-time augmentation. */
export type EmbeddingVariants = Record<'aligned' | 'aligned+flip' | 'axis' | 'axis+flip', number[]>;

export interface StageTimings {
  detectMs: number;
  landmarksMs: number;
  embedMs: number;
  /** True when the first pass found nothing and the face was found on the padded copy. */
  padded: boolean;
}

export interface FaceAnalyzer {
  readonly model: ModelInfo;
  readonly warmUpMs: number;
  analyze(img: RawImage, options?: AnalyzeOptions): Promise<{ faces: FaceAnalysis[]; timings: StageTimings }>;
  numTensors(): number;
}

/** The chip size face-api's recognition net (a dlib ResNet port) takes. */
export const CHIP_SIZE = 150;
/** Reviewer crop size (same geometry as the chip, more pixels). */
export const CROP_SIZE = 256;
/**
 * Border added on each side, as a fraction of the longer image side, for the second detection pass. SSD-MobileNetV1 misses
 * faces that fill the frame (LFW-style tight crops): it was trained on scenes, not portraits.
 */
export const DETECTION_PAD = 0.4;

export async function createFaceAnalyzer(cfg: AnalyzerConfig): Promise<FaceAnalyzer> {
  const rt = await initFaceRuntime(cfg.backend);
  const manifest = readManifest(cfg.modelId);
  for (const net of readVerifiedWeights(manifest)) {
    const total = net.shards.reduce((s, b) => s + b.byteLength, 0);
    const joined = new Uint8Array(total);
    let off = 0;
    for (const b of net.shards) joined.set(b, (off += b.byteLength) - b.byteLength);
    const specs = net.weightsManifest.flatMap((g) => g.weights) as Parameters<FaceRuntime['tf']['io']['decodeWeights']>[1];
    const weightMap = rt.tf.io.decodeWeights(joined.buffer, specs);
    rt.faceapi.nets[net.name].loadFromWeightMap(weightMap as never);
  }
  // The pipeline comes from the manifest only: it is part of what the model id stored with every template names.
  const analyzer = buildAnalyzer(rt, modelInfo(manifest, rt.backend), cfg, manifest.pipeline);
  const t0 = performance.now();
  await analyzer.warmUp();
  return { ...analyzer, warmUpMs: performance.now() - t0 };
}

function buildAnalyzer(rt: FaceRuntime, model: ModelInfo, cfg: AnalyzerConfig, pipeline: ModelManifest['pipeline']) {
  const { tf, faceapi } = rt;
  const minConfidence = cfg.minDetectionScore ?? 0.5;
  const rotate = pipeline.alignRotation;
  const pad = cfg.detectionPad ?? DETECTION_PAD;
  const ssdOptions = new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 });
  type Tensor3D = ReturnType<typeof tf.tensor3d>;

  /** Detections in `input` pixel space, after NMS and the confidence cut. */
  async function detect(input: Tensor3D) {
    const dets = await faceapi.nets.ssdMobilenetv1.locateFaces(input as never, ssdOptions);
    return dets.map((d) => ({ score: d.score, box: { x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height } }));
  }

  /** 68 landmarks in `input` pixel space for one detection (face-api's own crop → landmark net → shift). */
  async function landmarksFor(input: Tensor3D, box: Box): Promise<Point[]> {
    const [crop] = await faceapi.extractFaceTensors(input as never, [new faceapi.Rect(box.x, box.y, box.width, box.height)]);
    try {
      const lm = (await faceapi.nets.faceLandmark68Net.detectLandmarks(crop as never)) as InstanceType<typeof faceapi.FaceLandmarks68>;
      return lm.positions.map((p) => ({ x: p.x + Math.max(0, Math.round(box.x)), y: p.y + Math.max(0, Math.round(box.y)) }));
    } finally {
      crop?.dispose();
    }
  }

  /** An eye-levelled `size`x`size` chip (float32 0-255, 3 channels). Pixels outside the image are black, like face-api's padding. */
  function chip(input: Tensor3D, landmarks: Point[], size: number, levelEyes = rotate): Tensor3D {
    return tf.tidy(() => {
      const batch = tf.expandDims(tf.cast(input, 'float32'), 0) as ReturnType<typeof tf.tensor4d>;
      const m = tf.tensor2d([chipTransform(landmarks, size, levelEyes, pipeline.chipPadding)], [1, 8]);
      return tf.squeeze(tf.image.transform(batch, m, 'bilinear', 'constant', 0, [size, size]), [0]) as Tensor3D;
    });
  }

  const unit = (v: ArrayLike<number>): number[] => {
    const a = Array.from(v);
    const n = Math.hypot(...a) || 1;
    return a.map((x) => x / n);
  };

  const describe = async (t: Tensor3D) => (await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t as never)) as Float32Array;

  /** The net's raw descriptors of a chip and, with `flip`, of its mirror image (flip TTA sums the two). */
  async function descriptors(chipTensor: Tensor3D, flip: boolean): Promise<{ plain: Float32Array; mirrored?: Float32Array }> {
    const plain = await describe(chipTensor);
    if (!flip) return { plain };
    const m = tf.reverse(chipTensor, 1) as Tensor3D;
    try {
      return { plain, mirrored: await describe(m) };
    } finally {
      m.dispose();
    }
  }

  const sum = (a: Float32Array, b: Float32Array) => a.map((x, i) => x + b[i]!);

  async function embed(chipTensor: Tensor3D): Promise<number[]> {
    const { plain, mirrored } = await descriptors(chipTensor, pipeline.flipTta);
    return unit(mirrored ? sum(plain, mirrored) : plain);
  }

  /** Embeddings of both chip geometries with and without flip TTA, for the evaluation harness. */
  async function variantsFor(input: Tensor3D, landmarks: Point[]): Promise<EmbeddingVariants> {
    const out: Partial<EmbeddingVariants> = {};
    for (const [name, levelEyes] of [['aligned', true], ['axis', false]] as const) {
      const c = chip(input, landmarks, CHIP_SIZE, levelEyes);
      try {
        const { plain, mirrored } = await descriptors(c, true);
        out[name] = unit(plain);
        out[`${name}+flip`] = unit(sum(plain, mirrored!));
      } finally {
        c.dispose();
      }
    }
    return out as EmbeddingVariants;
  }

  const rgbBytes = async (t: Tensor3D) => Uint8Array.from(await t.data(), (v) => Math.max(0, Math.min(255, Math.round(v))));

  async function analyze(img: RawImage, options: AnalyzeOptions = {}): Promise<{ faces: FaceAnalysis[]; timings: StageTimings }> {
    const timings: StageTimings = { detectMs: 0, landmarksMs: 0, embedMs: 0, padded: false };
    const original = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    let padded: Tensor3D | undefined;
    try {
      let t = performance.now();
      let input = original;
      let offset = 0;
      let dets = await detect(original);
      if (dets.length === 0 && pad > 0) {
        // Second pass on a copy with a mid-grey border: lets SSD see a frame-filling face as a face in a scene.
        offset = Math.round(Math.max(img.width, img.height) * pad);
        padded = tf.pad(original, [[offset, offset], [offset, offset], [0, 0]], 128) as Tensor3D;
        input = padded;
        dets = await detect(padded);
        timings.padded = dets.length > 0;
      }
      timings.detectMs = performance.now() - t;
      // Boxes back in original pixel space, clipped to the image.
      const toOriginal = (b: Box): Box => {
        const x0 = Math.max(0, b.x - offset);
        const y0 = Math.max(0, b.y - offset);
        const x1 = Math.min(img.width, b.x - offset + b.width);
        const y1 = Math.min(img.height, b.y - offset + b.height);
        return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
      };
      let found = dets.map((d) => ({ ...d, inputBox: d.box, box: toOriginal(d.box) })).filter((d) => area(d.box) > 0);
      found.sort((a, b) => area(b.box) - area(a.box));
      if (options.centreFaceOnly && found.length > 1) {
        const dist = (b: Box) => Math.hypot(b.x + b.width / 2 - img.width / 2, b.y + b.height / 2 - img.height / 2);
        found = [found.reduce((best, d) => (dist(d.box) < dist(best.box) ? d : best))];
      }

      const faces: FaceAnalysis[] = [];
      for (const d of found) {
        t = performance.now();
        const lmInput = await landmarksFor(input, d.inputBox);
        timings.landmarksMs += performance.now() - t;
        t = performance.now();
        const c = chip(input, lmInput, CHIP_SIZE);
        let embedding: number[];
        let chipRgb: Uint8Array;
        try {
          embedding = await embed(c);
          chipRgb = await rgbBytes(c);
        } finally {
          c.dispose();
        }
        timings.embedMs += performance.now() - t;
        const landmarks = lmInput.map((p) => ({ x: p.x - offset, y: p.y - offset }));
        const quality = assessQuality(
          measureQuality({ landmarks, detectionScore: d.score, chipGrey: rgbToGrey(chipRgb, CHIP_SIZE * CHIP_SIZE), chipSize: CHIP_SIZE }),
        );
        const face: FaceAnalysis = { box: d.box, detectionScore: d.score, quality, embedding, landmarks };
        if (options.variants) face.variants = await variantsFor(input, lmInput);
        if (options.withCrops) {
          const big = chip(input, lmInput, CROP_SIZE);
          try {
            face.crop = { data: await rgbBytes(big), width: CROP_SIZE, height: CROP_SIZE };
          } finally {
            big.dispose();
          }
        }
        faces.push(face);
      }
      return { faces, timings };
    } finally {
      original.dispose();
      padded?.dispose();
    }
  }

  /** One full pass on a generated image plus the landmark and descriptor nets on a blank chip, so every kernel is compiled. */
  async function warmUp(): Promise<void> {
    const w = 320;
    const h = 240;
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
    await analyze({ data, width: w, height: h });
    const blank = tf.zeros([CHIP_SIZE, CHIP_SIZE, 3], 'float32') as Tensor3D;
    try {
      await faceapi.nets.faceLandmark68Net.detectLandmarks(blank as never);
      await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(blank as never);
    } finally {
      blank.dispose();
    }
  }

  return { model, analyze, warmUp, numTensors: () => tf.memory().numTensors };
}
