import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { AnalyzeOptions, Box } from '../../domain/face.types';
import type { EmbeddingVariants, FaceAnalysis, FaceAnalyzer, StageTimings } from './analysis.types';
import { area, CHIP_PADDING, chipTransform } from './align';
import type { RawImage } from './decode';
import { finishDescriptor } from './descriptor';
import { DEFAULT_PLAN, nonMaxSuppression, planDetection, touchesInnerEdge, type Detection, type DetectionLevel } from './detection-plan';
import { flipHorizontal, toInputTensor, warmUpImage, warpAffine, type Affine } from './image-ops';
import { modelInfo, readVerifiedCentre, readVerifiedOnnx, type ManifestNet, type ModelManifest, type OnnxNetConfig } from './model-manifest';
import { assessQuality, measureQuality, qualityThresholdsFor, rgbToGrey, type Point } from './quality';
import { alignmentWarp, fivePoints, scaledTemplate } from './similarity-transform';

/**
 * The ONNX Runtime analyzer: tiled multi-scale detection (UltraFace) → 68 landmarks → 5-point ArcFace alignment → embedder.
 * One per worker thread, one single-threaded session per net (parallelism comes from the worker pool: a second intra-op
 * thread only spin-waits on this 2-core machine kind). Memory: the decoded image, a pyramid of halved copies made lazily with
 * sharp, and the nets' own small inputs; nothing is ever expanded to float at image size.
 */
export interface OnnxAnalyzerConfig {
  manifest: ModelManifest;
  /** Detector confidence cut (default: the manifest's detector minScore). */
  minDetectionScore?: number;
  /** Smallest face side (image pixels) the tiled detection looks for (detection-plan.ts). */
  minFacePx?: number;
}

/** Reviewer crop size (same geometry as the tfjs pipeline's). */
const CROP_SIZE = 256;
/** Quality is measured on one chip geometry for every model: eye-levelled, CHIP_PADDING, 150 px (quality.ts thresholds). */
const QUALITY_CHIP = 150;
/** Confidence a detection from a tile (levels past the whole image) needs; see detect(). */
const TILE_MIN_SCORE = 0.95;
/** Detector input padding: mid-grey, ≈ 0 after (x − 127) / 128. */
const PAD = 127;

interface Net {
  session: ort.InferenceSession;
  cfg: OnnxNetConfig;
  input: string;
  output: string;
}

async function openNet(net: ManifestNet, bytes: Uint8Array): Promise<Net> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: net.onnx!.optimization ?? 'all',
  });
  const cfg = net.onnx!;
  return { session, cfg, input: cfg.inputName ?? session.inputNames[0]!, output: cfg.outputName ?? session.outputNames[0]! };
}

function needRole(m: ModelManifest, nets: { net: ManifestNet; bytes: Uint8Array }[], role: ManifestNet['role'], format: OnnxNetConfig['format']) {
  const n = nets.find((x) => x.net.role === role);
  if (!n) throw new Error(`model manifest ${m.id}: no ${role} net`);
  if (n.net.onnx!.format !== format) throw new Error(`model manifest ${m.id}: ${role} format ${n.net.onnx!.format} is not supported (expected ${format})`);
  return n;
}

/** Feeds a packed RGB image (already the net's size) through `net`; returns its (first or named) output. */
async function runNet(net: Net, rgb: Uint8Array, outputs?: string[]): Promise<ort.InferenceSession.ReturnType> {
  const { cfg } = net;
  let data: Float32Array;
  let dims: number[];
  if (cfg.channels === 'grey') {
    const grey = rgbToGrey(rgb, cfg.width * cfg.height);
    data = grey.map((v) => (v - cfg.mean[0]!) / cfg.std[0]!);
    dims = cfg.layout === 'nchw' ? [1, 1, cfg.height, cfg.width] : [1, cfg.height, cfg.width, 1];
  } else {
    data = toInputTensor(rgb, cfg.width, cfg.height, {
      channels: cfg.channels,
      mean: cfg.mean as [number, number, number],
      std: cfg.std as [number, number, number],
      layout: cfg.layout,
    });
    dims = cfg.layout === 'nchw' ? [1, 3, cfg.height, cfg.width] : [1, cfg.height, cfg.width, 3];
  }
  const feeds = { [net.input]: new ort.Tensor('float32', data, dims) };
  return outputs ? net.session.run(feeds, outputs) : net.session.run(feeds);
}

/**
 * Halved copies of the image (level j = 2^-j), made on demand with sharp's area-averaging resize, so a chip is always sampled
 * bilinearly from a copy at most 2x its own resolution (no aliasing from a 1,500 px face squeezed into 112 px).
 */
function pyramid(img: RawImage) {
  const levels: Promise<RawImage>[] = [Promise.resolve(img)];
  const level = (j: number): Promise<RawImage> => {
    if (!levels[j]) {
      const w = Math.max(1, Math.round(img.width / 2 ** j));
      const h = Math.max(1, Math.round(img.height / 2 ** j));
      levels[j] = resize(img, w, h);
    }
    return levels[j]!;
  };
  /** `m` maps chip pixels to full-image pixels; returns the chip sampled from the coarsest adequate level. */
  return async (m: Affine, outW: number, outH: number): Promise<Uint8Array> => {
    const srcPerOut = Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));
    const j = Math.max(0, Math.min(Math.floor(Math.log2(Math.max(1, srcPerOut))), Math.floor(Math.log2(Math.min(img.width, img.height))) - 3));
    const src = await level(j);
    if (j === 0) return warpAffine(src, m, outW, outH);
    // Full-image pixel p maps to level pixel (p + 0.5)·r − 0.5 (pixel centres), per axis.
    const rx = src.width / img.width;
    const ry = src.height / img.height;
    const lm: Affine = [m[0] * rx, m[1] * rx, (m[2] + 0.5) * rx - 0.5, m[3] * ry, m[4] * ry, (m[5] + 0.5) * ry - 0.5];
    return warpAffine(src, lm, outW, outH);
  };
}

async function resize(img: RawImage, width: number, height: number): Promise<RawImage> {
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}

/** A `w`x`h` window of `img` at (x, y), mid-grey where it leaves the image. */
function windowOf(img: RawImage, x: number, y: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3).fill(PAD);
  const cols = Math.min(w, img.width - x);
  for (let r = 0; r < h && y + r < img.height; r++) {
    const from = ((y + r) * img.width + x) * 3;
    out.set(img.data.subarray(from, from + cols * 3), r * w * 3);
  }
  return out;
}

export async function createOnnxAnalyzer(cfg: OnnxAnalyzerConfig): Promise<FaceAnalyzer> {
  const manifest = cfg.manifest;
  const files = readVerifiedOnnx(manifest);
  const detFile = needRole(manifest, files, 'detector', 'ultraface');
  const lmFile = needRole(manifest, files, 'landmarks', 'landmarks68');
  const embFile = needRole(manifest, files, 'embedder', 'embedding');
  const [detector, landmarker, embedder] = await Promise.all([
    openNet(detFile.net, detFile.bytes),
    openNet(lmFile.net, lmFile.bytes),
    openNet(embFile.net, embFile.bytes),
  ]);
  const centre = readVerifiedCentre(manifest);
  const qualityThresholds = qualityThresholdsFor(manifest);
  const minScore = cfg.minDetectionScore ?? detector.cfg.minScore ?? 0.7;
  const planOptions = {
    ...DEFAULT_PLAN,
    inputWidth: detector.cfg.width,
    inputHeight: detector.cfg.height,
    reliableMinFacePx: detector.cfg.reliableMinFacePx ?? DEFAULT_PLAN.reliableMinFacePx,
    minFacePx: cfg.minFacePx ?? DEFAULT_PLAN.minFacePx,
  };
  const template = scaledTemplate(embedder.cfg.width);
  const DW = detector.cfg.width;
  const DH = detector.cfg.height;
  const E = embedder.cfg.width;

  /** Faces in one detector-sized window, tile-local pixels. */
  async function detectWindow(rgb: Uint8Array): Promise<Detection[]> {
    const out = await runNet(detector, rgb, ['scores', 'boxes']);
    const scores = out.scores!.data as Float32Array;
    const boxes = out.boxes!.data as Float32Array;
    const dets: Detection[] = [];
    for (let i = 0; i < scores.length / 2; i++) {
      const score = scores[i * 2 + 1]!;
      if (score < minScore) continue;
      const x1 = boxes[i * 4]! * DW;
      const y1 = boxes[i * 4 + 1]! * DH;
      const x2 = boxes[i * 4 + 2]! * DW;
      const y2 = boxes[i * 4 + 3]! * DH;
      if (x2 > x1 && y2 > y1) dets.push({ score, box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 } });
    }
    return nonMaxSuppression(dets);
  }

  /** Every face in the image: each level of the plan, tile by tile, mapped to image pixels, merged. */
  async function detect(img: RawImage): Promise<{ dets: Detection[]; pass: number | null }> {
    const plan = planDetection(img.width, img.height, planOptions);
    const all: (Detection & { level: number })[] = [];
    for (let k = 0; k < plan.length; k++) {
      const level: DetectionLevel = plan[k]!;
      const scaled = level.width === img.width && level.height === img.height ? img : await resize(img, level.width, level.height);
      // A finer level is there for faces too small for the coarser one: a box the coarser level saw at twice the detector's
      // reliable size is its to find. And a tile sees a few hundred textured patches for each face: on every multi-face photo
      // we have, the tiles' false detections (torsos, sleeves, hair, backgrounds; looked at by eye, docs/ACCURACY.md) were
      // large, scored below 0.95 or wider than tall, so tile hits must be small, confident and face-shaped.
      const maxSide = k === 0 ? Infinity : (2 * planOptions.reliableMinFacePx * level.scale) / plan[k - 1]!.scale;
      const tileHit = (b: Box, score: number) =>
        Math.max(b.width, b.height) <= maxSide && score >= Math.max(minScore, TILE_MIN_SCORE) && b.height >= b.width && b.height <= 2 * b.width;
      for (const tile of level.tiles) {
        for (const d of await detectWindow(windowOf(scaled, tile.x, tile.y, DW, DH))) {
          if (k > 0 && (!tileHit(d.box, d.score) || touchesInnerEdge(d.box, tile, level, DW, DH))) continue;
          const b = d.box;
          const x0 = Math.max(0, (b.x + tile.x) / level.scale);
          const y0 = Math.max(0, (b.y + tile.y) / level.scale);
          const x1 = Math.min(img.width, (b.x + b.width + tile.x) / level.scale);
          const y1 = Math.min(img.height, (b.y + b.height + tile.y) / level.scale);
          if (x1 > x0 && y1 > y0) all.push({ score: d.score, level: k, box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } });
        }
      }
    }
    const kept = nonMaxSuppression(all);
    const pass = kept.length === 0 ? null : Math.min(...kept.map((d) => (d as Detection & { level: number }).level));
    return { dets: kept, pass };
  }

  /**
   * 68 landmarks in image pixels from the detector box: the box (kept inside the image, as the landmark net was trained on)
   * resized to the net's input, grey.
   */
  async function landmarksFor(sample: ReturnType<typeof pyramid>, img: RawImage, box: Box): Promise<Point[]> {
    const { width: LW, height: LH } = landmarker.cfg;
    let { x, y } = box;
    const w = Math.min(box.width, img.width - 1);
    const h = Math.min(box.height, img.height - 1);
    x = Math.max(0, Math.min(x, img.width - 1 - w));
    y = Math.max(0, Math.min(y, img.height - 1 - h));
    const sx = w / LW;
    const sy = h / LH;
    const rgb = await sample([sx, 0, x + 0.5 * sx - 0.5, 0, sy, y + 0.5 * sy - 0.5], LW, LH);
    const out = await runNet(landmarker, rgb);
    const v = out[landmarker.output]!.data as Float32Array;
    const pts: Point[] = [];
    for (let i = 0; i < 68; i++) pts.push({ x: x + v[i * 2]! * w, y: y + v[i * 2 + 1]! * h });
    return pts;
  }

  async function describe(chip: Uint8Array): Promise<Float32Array> {
    const out = await runNet(embedder, chip);
    return out[embedder.output]!.data as Float32Array;
  }

  async function analyze(img: RawImage, options: AnalyzeOptions = {}): Promise<{ faces: FaceAnalysis[]; timings: StageTimings }> {
    const timings: StageTimings = { detectMs: 0, landmarksMs: 0, alignMs: 0, embedMs: 0, detectionPass: null };
    let t = performance.now();
    const { dets, pass } = await detect(img);
    timings.detectMs = performance.now() - t;
    timings.detectionPass = pass;
    let found = dets.sort((a, b) => area(b.box) - area(a.box));
    if (options.centreFaceOnly && found.length > 1) {
      const dist = (b: Box) => Math.hypot(b.x + b.width / 2 - img.width / 2, b.y + b.height / 2 - img.height / 2);
      found = [found.reduce((best, d) => (dist(d.box) < dist(best.box) ? d : best))];
    }
    const sample = pyramid(img);
    const faces: FaceAnalysis[] = [];
    for (const d of found) {
      t = performance.now();
      const landmarks = await landmarksFor(sample, img, d.box);
      timings.landmarksMs += performance.now() - t;

      t = performance.now();
      const chip = await sample(alignmentWarp(fivePoints(landmarks), template), E, embedder.cfg.height);
      const q = chipTransform(landmarks, QUALITY_CHIP, true, CHIP_PADDING);
      const qualityChip = await sample(q.slice(0, 6) as unknown as Affine, QUALITY_CHIP, QUALITY_CHIP);
      timings.alignMs! += performance.now() - t;

      t = performance.now();
      const plain = await describe(chip);
      const raws = [plain];
      let mirrored: Float32Array | undefined;
      if (manifest.pipeline.flipTta || options.variants) {
        mirrored = await describe(flipHorizontal(chip, E, embedder.cfg.height));
        if (manifest.pipeline.flipTta) raws.push(mirrored);
      }
      const embedding = finishDescriptor(raws, centre);
      timings.embedMs += performance.now() - t;

      const quality = assessQuality(
        measureQuality({ landmarks, detectionScore: d.score, chipGrey: rgbToGrey(qualityChip, QUALITY_CHIP * QUALITY_CHIP), chipSize: QUALITY_CHIP }),
        qualityThresholds,
      );
      const face: FaceAnalysis = { box: d.box, detectionScore: d.score, quality, embedding, landmarks };
      if (options.variants) {
        const v: EmbeddingVariants = { aligned: Array.from(plain), 'aligned+flip': Array.from(plain, (x, i) => (x + mirrored![i]!) / 2) };
        face.variants = v;
      }
      if (options.withCrops) {
        const c = chipTransform(landmarks, CROP_SIZE, true, CHIP_PADDING);
        face.crop = { data: await sample(c.slice(0, 6) as unknown as Affine, CROP_SIZE, CROP_SIZE), width: CROP_SIZE, height: CROP_SIZE };
      }
      faces.push(face);
    }
    return { faces, timings };
  }

  /** Runs every net once (ONNX Runtime allocates its arenas and plans on the first run). */
  async function warmUp(): Promise<void> {
    await analyze(warmUpImage(640, 480));
    await runNet(landmarker, new Uint8Array(landmarker.cfg.width * landmarker.cfg.height * 3));
    const d = await describe(new Uint8Array(E * embedder.cfg.height * 3));
    if (d.length !== manifest.embeddingSize) {
      throw new Error(`model manifest ${manifest.id}: the embedder returns ${d.length} values, the manifest says embeddingSize ${manifest.embeddingSize}`);
    }
  }

  const model = modelInfo(manifest, 'onnxruntime-cpu');
  const t0 = performance.now();
  await warmUp();
  const warmUpMs = performance.now() - t0;
  return { model, warmUpMs, analyze, numTensors: () => 0 };
}
