import type { AnalyzeOptions, Box, ModelInfo } from '../../shared/face.types';
import type { EmbeddingVariants, FaceAnalysis, FaceAnalyzer, StageTimings } from './analysis.types';
import { area, CHIP_PADDING, chipFaceBox, chipTransform } from './align';
import { initFaceRuntime, type BackendKind, type FaceRuntime } from './backend';
import type { RawImage } from './decode';
import { modelInfo, readManifest, readVerifiedCentre, readVerifiedWeights, type FaceApiNetName, type ModelManifest } from './model-manifest';
import { finishDescriptor } from './descriptor';
import { warmUpImage } from './image-ops';
import { assessQuality, measureQuality, qualityThresholdsFor, rgbToGrey, type Point } from './quality';

/**
 * The in-process face analyzer: SSD-MobileNetV1 detection → 68 landmarks → chip (geometry and size from the model manifest) →
 * descriptor (face-api's 128-d net, or a graph-model embedder such as FaceRes, 1024-d) → template (finishDescriptor).
 * One per thread: tfjs and face-api's nets are per-isolate state, so the worker pool runs one of these in each worker.
 * Every tensor created here is disposed before `analyze` returns (tests assert `numTensors()` stays flat).
 */
export interface AnalyzerConfig {
  backend: BackendKind;
  /** SSD confidence below which detections are dropped (0-1). */
  minDetectionScore?: number;
  /** Borders for the padded detection passes, as fractions of the longer side (default DETECTION_PADS; [] disables them). */
  detectionPads?: readonly number[];
  /** Which models/*.manifest.json to run (default DEFAULT_MODEL_ID). */
  modelId?: string;
  /** The manifest itself, when the caller has read it already (runtime.ts). */
  manifest?: ModelManifest;
}

/** The chip size face-api's recognition net (a dlib ResNet port) takes. */
export const CHIP_SIZE = 150;
/** Reviewer crop size (same geometry as the chip, more pixels). */
export const CROP_SIZE = 256;
/**
 * Borders added on each side, as fractions of the longer image side, for the padded detection passes, tried in order only while
 * nothing has been found. SSD-MobileNetV1 misses faces that fill the frame (LFW-style tight crops): it was trained on scenes,
 * not portraits. 0.4 recovers 95 % of those on LFW; 0.7 most of the rest (docs/ACCURACY.md, "Failure to acquire"). A face
 * found by an earlier pass is never affected by a later one, so adding a pass changes only former failures.
 */
export const DETECTION_PADS = [0.4, 0.7] as const;

export async function createTfjsAnalyzer(cfg: AnalyzerConfig): Promise<FaceAnalyzer> {
  const rt = await initFaceRuntime(cfg.backend);
  const manifest = cfg.manifest ?? readManifest(cfg.modelId);
  let graphEmbedder: GraphModel | undefined;
  for (const net of readVerifiedWeights(manifest)) {
    const total = net.shards.reduce((s, b) => s + b.byteLength, 0);
    const joined = new Uint8Array(total);
    let off = 0;
    for (const b of net.shards) joined.set(b, (off += b.byteLength) - b.byteLength);
    const specs = net.weightsManifest.flatMap((g) => g.weights) as Parameters<FaceRuntime['tf']['io']['decodeWeights']>[1];
    if (net.kind === 'graph') {
      if (net.role !== 'embedder') throw new Error(`model manifest ${manifest.id}: graph model ${net.name} can only be the embedder`);
      const artifacts = { ...net.modelJson!, weightSpecs: specs, weightData: joined.buffer } as Parameters<FaceRuntime['tf']['io']['fromMemory']>[0];
      graphEmbedder = await rt.tf.loadGraphModel(rt.tf.io.fromMemory(artifacts));
      continue;
    }
    const weightMap = rt.tf.io.decodeWeights(joined.buffer, specs);
    rt.faceapi.nets[net.name as FaceApiNetName].loadFromWeightMap(weightMap as never);
  }
  // The pipeline comes from the manifest only: it is part of what the model id stored with every template names.
  const analyzer = buildAnalyzer(rt, modelInfo(manifest, rt.backend), cfg, manifest, graphEmbedder, readVerifiedCentre(manifest));
  const t0 = performance.now();
  await analyzer.warmUp();
  return { ...analyzer, warmUpMs: performance.now() - t0 };
}

type GraphModel = Awaited<ReturnType<FaceRuntime['tf']['loadGraphModel']>>;

/** Per-channel means (BGR order) of the Keras/Caffe `preprocess_input` convention. */
const VGG_MEAN_BGR = [103.939, 116.779, 123.68];

function buildAnalyzer(
  rt: FaceRuntime,
  model: ModelInfo,
  cfg: AnalyzerConfig,
  manifest: ModelManifest,
  graphEmbedder: GraphModel | undefined,
  centre: Float32Array | null,
) {
  const { tf, faceapi } = rt;
  const pipeline = manifest.pipeline;
  const embedSize = pipeline.chipSize ?? CHIP_SIZE;
  const minConfidence = cfg.minDetectionScore ?? 0.5;
  const rotate = pipeline.alignRotation ?? true;
  const chipPadding = pipeline.chipPadding ?? CHIP_PADDING;
  const qualityThresholds = qualityThresholdsFor(manifest);
  const pads = cfg.detectionPads ?? DETECTION_PADS;
  const ssdOptions = new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 });
  type Tensor3D = ReturnType<typeof tf.tensor3d>;
  type Tensor4D = ReturnType<typeof tf.tensor4d>;

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

  /**
   * An eye-levelled `size`x`size` chip (float32 0-255, 3 channels) from the image as a float32 batch of one (cast once per image,
   * shared by every chip of every face). Pixels outside the image are black, like face-api's padding.
   */
  function chip(batch: Tensor4D, landmarks: Point[], size: number, levelEyes = rotate, padding = chipPadding): Tensor3D {
    return tf.tidy(() => {
      const m = tf.tensor2d([chipTransform(landmarks, size, levelEyes, padding)], [1, 8]);
      return tf.squeeze(tf.image.transform(batch, m, 'bilinear', 'constant', 0, [size, size]), [0]) as Tensor3D;
    });
  }

  /** The embedder's raw descriptor of one chip (float32 RGB 0-255, embedSize x embedSize). */
  async function describe(t: Tensor3D): Promise<Float32Array> {
    if (!graphEmbedder) return (await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t as never)) as Float32Array;
    const out = tf.tidy(() => {
      let x = tf.expandDims(t, 0);
      if (pipeline.input === 'bgr-minus-vgg-mean') x = tf.sub(tf.reverse(x, 3), tf.tensor1d(VGG_MEAN_BGR));
      return graphEmbedder.execute(x, pipeline.output) as ReturnType<typeof tf.tensor2d>;
    });
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  }

  /** The raw descriptors of a chip and, with `flip`, of its mirror image. */
  async function descriptors(chipTensor: Tensor3D, flip: boolean): Promise<Float32Array[]> {
    const plain = await describe(chipTensor);
    if (!flip) return [plain];
    const m = tf.reverse(chipTensor, 1) as Tensor3D;
    try {
      return [plain, await describe(m)];
    } finally {
      m.dispose();
    }
  }

  const embed = async (chipTensor: Tensor3D) => finishDescriptor(await descriptors(chipTensor, pipeline.flipTta), centre);

  /**
   * Raw (mean, not centred, not normalised) descriptors of both chip geometries with and without flip TTA, for the evaluation
   * harness: it finishes them with finishDescriptor and can fit a centre on them.
   */
  async function variantsFor(batch: Tensor4D, landmarks: Point[]): Promise<EmbeddingVariants> {
    const out: EmbeddingVariants = {};
    const mean = (a: Float32Array, b: Float32Array) => Array.from(a, (x, i) => (x + b[i]!) / 2);
    for (const [name, levelEyes] of [['aligned', true], ['axis', false]] as const) {
      const c = chip(batch, landmarks, embedSize, levelEyes);
      try {
        const [plain, mirrored] = await descriptors(c, true);
        out[name] = Array.from(plain!);
        out[`${name}+flip`] = mean(plain!, mirrored!);
      } finally {
        c.dispose();
      }
    }
    return out;
  }

  const rgbBytes = async (t: Tensor3D) => Uint8Array.from(await t.data(), (v) => Math.max(0, Math.min(255, Math.round(v))));

  async function analyze(img: RawImage, options: AnalyzeOptions = {}): Promise<{ faces: FaceAnalysis[]; timings: StageTimings }> {
    const timings: StageTimings = { detectMs: 0, landmarksMs: 0, embedMs: 0, detectionPass: null };
    const original = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    let padded: Tensor3D | undefined;
    let batch: Tensor4D | undefined;
    try {
      let t = performance.now();
      let input = original;
      let offset = 0;
      // A chip cut by another deployment holds one face at a known place: no detection (its detector already found it).
      let dets = options.alignedChip ? [{ score: 1, box: chipFaceBox(img.width, img.height) }] : await detect(original);
      if (dets.length > 0) timings.detectionPass = 0;
      for (let i = 0; dets.length === 0 && !options.alignedChip && i < pads.length; i++) {
        // A copy with a mid-grey border: lets SSD see a frame-filling face as a face in a scene.
        padded?.dispose();
        offset = Math.round(Math.max(img.width, img.height) * pads[i]!);
        padded = tf.pad(original, [[offset, offset], [offset, offset], [0, 0]], 128) as Tensor3D;
        input = padded;
        dets = await detect(padded);
        if (dets.length > 0) timings.detectionPass = i + 1;
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
      if (found.length > 0) batch = tf.tidy(() => tf.expandDims(tf.cast(input, 'float32'), 0) as Tensor4D);
      for (const d of found) {
        t = performance.now();
        const lmInput = await landmarksFor(input, d.inputBox);
        timings.landmarksMs += performance.now() - t;
        t = performance.now();
        const c = chip(batch!, lmInput, embedSize);
        // Quality is measured on one chip geometry for every model (eye-levelled, CHIP_PADDING, 150 px): its thresholds were set there.
        const sameChip = embedSize === CHIP_SIZE && rotate && chipPadding === CHIP_PADDING;
        const q = sameChip ? c : chip(batch!, lmInput, CHIP_SIZE, true, CHIP_PADDING);
        let embedding: number[];
        let chipRgb: Uint8Array;
        try {
          embedding = await embed(c);
          chipRgb = await rgbBytes(q);
        } finally {
          c.dispose();
          if (q !== c) q.dispose();
        }
        timings.embedMs += performance.now() - t;
        const landmarks = lmInput.map((p) => ({ x: p.x - offset, y: p.y - offset }));
        const quality = assessQuality(
          measureQuality({ landmarks, detectionScore: d.score, chipGrey: rgbToGrey(chipRgb, CHIP_SIZE * CHIP_SIZE), chipSize: CHIP_SIZE }),
          qualityThresholds,
        );
        const face: FaceAnalysis = { box: d.box, detectionScore: d.score, quality, embedding, landmarks };
        if (options.variants) face.variants = await variantsFor(batch!, lmInput);
        if (options.withCrops) {
          const big = chip(batch!, lmInput, CROP_SIZE);
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
      batch?.dispose();
    }
  }

  /** One full pass on a generated image plus the landmark and descriptor nets on a blank chip, so every kernel is compiled. */
  async function warmUp(): Promise<void> {
    await analyze(warmUpImage(320, 240));
    const blank = tf.zeros([CHIP_SIZE, CHIP_SIZE, 3], 'float32') as Tensor3D;
    const blankChip = tf.zeros([embedSize, embedSize, 3], 'float32') as Tensor3D;
    try {
      await faceapi.nets.faceLandmark68Net.detectLandmarks(blank as never);
      await describe(blankChip);
    } finally {
      blank.dispose();
      blankChip.dispose();
    }
  }

  return { model, analyze, warmUp, numTensors: () => tf.memory().numTensors };
}
