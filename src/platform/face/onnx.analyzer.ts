import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { AnalyzeOptions, Box } from '../../shared/face.types';
import type { AnalyzeRun, EmbeddingVariants, FaceAnalysis, FaceAnalyzer, StageTimings } from './analysis.types';
import { area, CHIP_PADDING, chipFaceBox, chipTransform } from './align';
import type { RawImage } from './decode';
import { finishDescriptor } from './descriptor';
import {
  DEFAULT_PLAN,
  detectorRuns,
  nonMaxSuppression,
  planDetection,
  refineDetection,
  touchesInnerEdge,
  type Detection,
  type DetectionLevel,
} from './detection-plan';
import { flipHorizontal, toInputTensor, warmUpImage, warpAffine, type Affine } from './image-ops';
import { modelInfo, readVerifiedCentre, readVerifiedOnnx, type ManifestNet, type ModelManifest, type OnnxNetConfig } from './model-manifest';
import { assessQuality, measureQuality, qualityThresholdsFor, rgbToGrey, type Point } from './quality';
import { alignmentWarp, fivePoints, scaledTemplate } from './similarity-transform';

/**
 * The ONNX Runtime analyzer: coarse-to-fine detection (UltraFace; detection-plan.ts) → 68 landmarks → 5-point ArcFace
 * alignment → embedder. One per worker thread. Each net has a single-threaded session; the detector and the embedder also
 * have one with `idleThreads` intra-op threads (spinning off, so an idle thread sleeps instead of burning the other core),
 * used when the worker pool says the other workers are idle (AnalyzeRun). Memory: the decoded image, the detector's small
 * scaled copies, small regions around each face resampled with sharp, and the nets' own inputs; nothing is ever expanded
 * to float at image size.
 */
export interface OnnxAnalyzerConfig {
  manifest: ModelManifest;
  /** Detector confidence cut (default: the manifest's detector minScore). */
  minDetectionScore?: number;
  /** Smallest face side (image pixels) the tiled detection looks for (detection-plan.ts). */
  minFacePx?: number;
  /** Intra-op threads a run may use when the pool allows more than one (default 1: single-threaded sessions only). */
  idleThreads?: number;
}

/** Reviewer crop size (same geometry as the tfjs pipeline's). */
const CROP_SIZE = 256;
/** Quality is measured on one chip geometry for every model: eye-levelled, CHIP_PADDING, 150 px (quality.ts thresholds). */
const QUALITY_CHIP = 150;
/** Confidence a detection from a tile (levels past the whole image) needs; see detect(). */
const TILE_MIN_SCORE = 0.95;
/**
 * A level-0 candidate scored at least this (and below the accepted score), face-shaped and smaller than twice the detector's
 * reliable size, is a hint: the finer levels look at the tiles around it (detection-plan.ts refineDetection).
 */
const HINT_MIN_SCORE = 0.3;
/** Detector input padding: mid-grey, ≈ 0 after (x − 127) / 128. */
const PAD = 127;

interface Net {
  session: ort.InferenceSession;
  cfg: OnnxNetConfig;
  input: string;
  output: string;
}

async function openNet(net: ManifestNet, bytes: Uint8Array, threads = 1): Promise<Net> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: net.onnx!.optimization ?? 'all',
    // A spinning intra-op thread takes the other core from the other worker; a sleeping one costs a wake-up (~0.1 ms).
    ...(threads > 1 ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  });
  const cfg = net.onnx!;
  return { session, cfg, input: cfg.inputName ?? session.inputNames[0]!, output: cfg.outputName ?? session.outputNames[0]! };
}

/** A net's single-threaded session and, when idle threads are allowed, a multi-threaded one over the same weights. */
async function openNets(net: ManifestNet, bytes: Uint8Array, idleThreads: number): Promise<(threads: number) => Net> {
  const one = await openNet(net, bytes);
  const many = idleThreads > 1 ? await openNet(net, bytes, idleThreads) : one;
  return (threads) => (threads > 1 ? many : one);
}

function findRole(m: ModelManifest, nets: { net: ManifestNet; bytes: Uint8Array }[], role: ManifestNet['role'], formats: OnnxNetConfig['format'][]) {
  const n = nets.find((x) => x.net.role === role);
  if (n && !formats.includes(n.net.onnx!.format)) {
    throw new Error(`model manifest ${m.id}: ${role} format ${n.net.onnx!.format} is not supported (expected ${formats.join(' or ')})`);
  }
  return n;
}

function needRole(m: ModelManifest, nets: { net: ManifestNet; bytes: Uint8Array }[], role: ManifestNet['role'], formats: OnnxNetConfig['format'][]) {
  const n = findRole(m, nets, role, formats);
  if (!n) throw new Error(`model manifest ${m.id}: no ${role} net`);
  return n;
}

/**
 * Feeds a packed RGB image through `net`; returns its (first or named) output. The image is the net's size, or `size` for a
 * net that takes any (YuNet).
 */
async function runNet(net: Net, rgb: Uint8Array, outputs?: string[], size?: { width: number; height: number }): Promise<ort.InferenceSession.ReturnType> {
  const { cfg } = net;
  const { width, height } = size ?? cfg;
  let data: Float32Array;
  let dims: number[];
  if (cfg.channels === 'grey') {
    const grey = rgbToGrey(rgb, width * height);
    data = grey.map((v) => (v - cfg.mean[0]!) / cfg.std[0]!);
    dims = cfg.layout === 'nchw' ? [1, 1, height, width] : [1, height, width, 1];
  } else {
    data = toInputTensor(rgb, width, height, {
      channels: cfg.channels,
      mean: cfg.mean as [number, number, number],
      std: cfg.std as [number, number, number],
      layout: cfg.layout,
    });
    dims = cfg.layout === 'nchw' ? [1, 3, height, width] : [1, height, width, 3];
  }
  const feeds = { [net.input]: new ort.Tensor('float32', data, dims) };
  return outputs ? net.session.run(feeds, outputs) : net.session.run(feeds);
}

/**
 * Chips sampled without aliasing: a chip is sampled bilinearly from a copy of the image at most 2x its own resolution (no
 * 1,500 px face squeezed straight into 112 px), made by sharp's resize by 2^j (cubic). The copy is of a region only: around
 * `around` (a detected face, grown by REGION_GROWTH on each side: it holds the landmark crop, the chips and the reviewer
 * crop) or, for a footprint outside it, of that footprint alone; one copy per face and level, never the whole photo.
 */
const REGION_GROWTH = 0.6;

interface Region {
  src: RawImage;
  /** Full-image bounds of the region (on the 2^j grid). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function chipSampler(img: RawImage, around?: Box) {
  const regions = new Map<number, Region>();
  const regionOf = async (j: number, fx0: number, fy0: number, fx1: number, fy1: number): Promise<Region> => {
    const f = 2 ** j;
    // On the 2^j grid, 4 level pixels of margin (the cubic kernel's and the bilinear sample's reach), inside the image.
    const margin = 4 * f;
    const x0 = Math.max(0, Math.floor((fx0 - margin) / f) * f);
    const y0 = Math.max(0, Math.floor((fy0 - margin) / f) * f);
    const x1 = Math.min(img.width, Math.max(x0 + f, Math.ceil((fx1 + margin) / f) * f));
    const y1 = Math.min(img.height, Math.max(y0 + f, Math.ceil((fy1 + margin) / f) * f));
    const w = Math.max(1, Math.round((x1 - x0) / f));
    const h = Math.max(1, Math.round((y1 - y0) / f));
    const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 })
      .resize(w, h, { fit: 'fill', kernel: 'cubic' })
      .raw()
      .toBuffer();
    return { src: { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: w, height: h }, x0, y0, x1, y1 };
  };
  /** `m` maps chip pixels to full-image pixels. */
  return async (m: Affine, outW: number, outH: number): Promise<Uint8Array> => {
    const srcPerOut = Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));
    const j = Math.max(0, Math.min(Math.floor(Math.log2(Math.max(1, srcPerOut))), Math.floor(Math.log2(Math.min(img.width, img.height))) - 3));
    if (j === 0) return warpAffine(img, m, outW, outH);
    const xs = [0, outW].flatMap((x) => [0, outH].map((y) => m[0] * x + m[1] * y + m[2]));
    const ys = [0, outW].flatMap((x) => [0, outH].map((y) => m[3] * x + m[4] * y + m[5]));
    const [fx0, fx1, fy0, fy1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    // A footprint wholly outside the image (a degenerate box) samples the fill.
    if (fx1 < 0 || fy1 < 0 || fx0 >= img.width || fy0 >= img.height) return warpAffine(img, m, outW, outH);
    let r = regions.get(j);
    if (!r && around) {
      const gx = around.width * REGION_GROWTH;
      const gy = around.height * REGION_GROWTH;
      r = await regionOf(j, Math.min(fx0, around.x - gx), Math.min(fy0, around.y - gy), Math.max(fx1, around.x + around.width + gx), Math.max(fy1, around.y + around.height + gy));
      regions.set(j, r);
    }
    const f = 2 ** j;
    const inside = (q: Region) =>
      (fx0 >= q.x0 + 4 * f || q.x0 === 0) && (fy0 >= q.y0 + 4 * f || q.y0 === 0) && (fx1 <= q.x1 - 4 * f || q.x1 === img.width) && (fy1 <= q.y1 - 4 * f || q.y1 === img.height);
    if (!r || !inside(r)) r = await regionOf(j, fx0, fy0, fx1, fy1);
    // Full-image pixel p maps to region pixel (p − x0 + 0.5)·r − 0.5 (pixel centres), per axis.
    const rx = r.src.width / (r.x1 - r.x0);
    const ry = r.src.height / (r.y1 - r.y0);
    const lm: Affine = [m[0] * rx, m[1] * rx, (m[2] - r.x0 + 0.5) * rx - 0.5, m[3] * ry, m[4] * ry, (m[5] - r.y0 + 0.5) * ry - 0.5];
    return warpAffine(r.src, lm, outW, outH);
  };
}

async function resize(img: RawImage, width: number, height: number): Promise<RawImage> {
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}

/** A `w`x`h` window of `img` at (x, y), `pad` (mid-grey by default) where it leaves the image. */
function windowOf(img: RawImage, x: number, y: number, w: number, h: number, pad = PAD): Uint8Array {
  const out = new Uint8Array(w * h * 3).fill(pad);
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
  const detFile = needRole(manifest, files, 'detector', ['ultraface', 'yunet']);
  const yunet = detFile.net.onnx!.format === 'yunet';
  // A detector with its own five landmarks (YuNet) needs no landmark net; one listed is used instead of them.
  const lmFile = yunet ? findRole(manifest, files, 'landmarks', ['landmarks68']) : needRole(manifest, files, 'landmarks', ['landmarks68']);
  const embFile = needRole(manifest, files, 'embedder', ['embedding']);
  const idleThreads = Math.max(1, cfg.idleThreads ?? 1);
  const [detectorFor, landmarker, embedderFor] = await Promise.all([
    openNets(detFile.net, detFile.bytes, idleThreads),
    lmFile ? openNet(lmFile.net, lmFile.bytes) : null,
    openNets(embFile.net, embFile.bytes, idleThreads),
  ]);
  const detector = detectorFor(1);
  const embedder = embedderFor(1);
  const centre = readVerifiedCentre(manifest);
  const qualityThresholds = qualityThresholdsFor(manifest);
  const minScore = cfg.minDetectionScore ?? detector.cfg.minScore ?? 0.7;
  const planOptions = {
    ...DEFAULT_PLAN,
    inputWidth: detector.cfg.width,
    inputHeight: detector.cfg.height,
    reliableMinFacePx: detector.cfg.reliableMinFacePx ?? DEFAULT_PLAN.reliableMinFacePx,
    minFacePx: cfg.minFacePx ?? DEFAULT_PLAN.minFacePx,
    anyInputSize: yunet,
  };
  const template = scaledTemplate(embedder.cfg.width);
  const DW = detector.cfg.width;
  const DH = detector.cfg.height;
  const E = embedder.cfg.width;
  // UltraFace's boxes are taller than wide; YuNet's about square.
  const faceShaped = (b: Box) => b.height >= (yunet ? 0.8 : 1) * b.width && b.height <= 2 * b.width;
  const hintMaxSide = 2 * planOptions.reliableMinFacePx;
  /** Sorts a candidate into faces (score ≥ minScore) or hints (HINT_MIN_SCORE ≤ score, face-shaped, small). */
  const triage = (d: Detection, faces: Detection[], hints: Detection[]) => {
    if (d.score >= minScore) faces.push(d);
    else if (faceShaped(d.box) && d.box.height < hintMaxSide) hints.push(d);
  };

  /**
   * One window, window-local pixels: faces scored at least minScore, and hints (HINT_MIN_SCORE ≤ score < minScore,
   * face-shaped, smaller than twice the detector's reliable size), each merged by NMS. `w`x`h`: the window's size (UltraFace:
   * always its input size; YuNet: up to it, a multiple of 32).
   */
  async function detectWindow(net: Net, rgb: Uint8Array, w = DW, h = DH): Promise<{ faces: Detection[]; hints: Detection[] }> {
    const faces: Detection[] = [];
    const hints: Detection[] = [];
    if (yunet) {
      const out = await runNet(net, rgb, undefined, { width: w, height: h });
      for (const stride of [8, 16, 32]) {
        const cols = w / stride;
        const cls = out[`cls_${stride}`]!.data as Float32Array;
        const obj = out[`obj_${stride}`]!.data as Float32Array;
        const bbox = out[`bbox_${stride}`]!.data as Float32Array;
        const kps = out[`kps_${stride}`]!.data as Float32Array;
        const clamp = (v: number) => Math.min(1, Math.max(0, v));
        for (let i = 0; i < cls.length; i++) {
          // Anchor-free: one prediction per grid cell (column c, row r); score = √(class · objectness).
          const score = Math.sqrt(clamp(cls[i]!) * clamp(obj[i]!));
          if (score < HINT_MIN_SCORE) continue;
          const c = i % cols;
          const r = Math.floor(i / cols);
          const bw = Math.exp(bbox[i * 4 + 2]!) * stride;
          const bh = Math.exp(bbox[i * 4 + 3]!) * stride;
          const cx = (c + bbox[i * 4]!) * stride;
          const cy = (r + bbox[i * 4 + 1]!) * stride;
          const points: Point[] = [];
          for (let n = 0; n < 5; n++) points.push({ x: (kps[i * 10 + 2 * n]! + c) * stride, y: (kps[i * 10 + 2 * n + 1]! + r) * stride });
          triage({ score, box: { x: cx - bw / 2, y: cy - bh / 2, width: bw, height: bh }, points }, faces, hints);
        }
      }
    } else {
      const out = await runNet(net, rgb, ['scores', 'boxes']);
      const scores = out.scores!.data as Float32Array;
      const boxes = out.boxes!.data as Float32Array;
      for (let i = 0; i < scores.length / 2; i++) {
        const score = scores[i * 2 + 1]!;
        if (score < HINT_MIN_SCORE) continue;
        const x1 = boxes[i * 4]! * DW;
        const y1 = boxes[i * 4 + 1]! * DH;
        const x2 = boxes[i * 4 + 2]! * DW;
        const y2 = boxes[i * 4 + 3]! * DH;
        if (x2 > x1 && y2 > y1) triage({ score, box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 } }, faces, hints);
      }
    }
    return { faces: nonMaxSuppression(faces), hints: nonMaxSuppression(hints) };
  }

  /**
   * Every face in the image, coarse to fine: level 0 (the whole image), then the finer levels refineDetection picks, tile by
   * tile, mapped to image pixels and merged.
   */
  async function detect(img: RawImage, detail: AnalyzeOptions['detail'], threads: number) {
    const net = detectorFor(threads);
    const plan = planDetection(img.width, img.height, planOptions);
    const all: (Detection & { level: number })[] = [];
    const toImage = (b: Box, tile: { x: number; y: number }, level: DetectionLevel): Box | null => {
      const x0 = Math.max(0, (b.x + tile.x) / level.scale);
      const y0 = Math.max(0, (b.y + tile.y) / level.scale);
      const x1 = Math.min(img.width, (b.x + b.width + tile.x) / level.scale);
      const y1 = Math.min(img.height, (b.y + b.height + tile.y) / level.scale);
      return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
    };
    const pointsToImage = (d: Detection, tile: { x: number; y: number }, level: DetectionLevel) =>
      d.points ? { points: d.points.map((p) => ({ x: (p.x + tile.x) / level.scale, y: (p.y + tile.y) / level.scale })) } : {};
    const padValue = yunet ? 0 : PAD;
    // YuNet looks at level 0 in a window of the level's own size (rounded up to its stride of 32), not at a fixed 320x240.
    const round32 = (n: number) => Math.max(32, Math.ceil(n / 32) * 32);
    const scaledCopy = (level: DetectionLevel) => (level.width === img.width && level.height === img.height ? img : resize(img, level.width, level.height));

    const level0 = plan[0]!;
    const [w0, h0] = yunet ? [round32(level0.width), round32(level0.height)] : [DW, DH];
    const coarse = await detectWindow(net, windowOf(await scaledCopy(level0), 0, 0, w0, h0, padValue), w0, h0);
    for (const d of coarse.faces) {
      const box = toImage(d.box, level0.tiles[0]!, level0);
      if (box) all.push({ score: d.score, level: 0, box, ...pointsToImage(d, level0.tiles[0]!, level0) });
    }
    const hints = coarse.hints.flatMap((d) => toImage(d.box, level0.tiles[0]!, level0) ?? []);
    const refinement = refineDetection(plan, detail ?? 'standard', { faces: all.map((d) => d.box), hints }, DW, DH);

    for (const level of refinement.levels) {
      const k = plan.findIndex((l) => l.scale === level.scale);
      const scaled = await scaledCopy(level);
      // A finer level is there for faces too small for the coarser one: a box the coarser level saw at twice the detector's
      // reliable size is its to find. And a tile sees a few hundred textured patches for each face: on every multi-face photo
      // we have, the tiles' false detections (torsos, sleeves, hair, backgrounds; looked at by eye, docs/ACCURACY.md) were
      // large, scored below 0.95 or wider than tall, so tile hits must be small, confident and face-shaped.
      const maxSide = (2 * planOptions.reliableMinFacePx * level.scale) / plan[k - 1]!.scale;
      const tileHit = (b: Box, score: number) => Math.max(b.width, b.height) <= maxSide && score >= Math.max(minScore, TILE_MIN_SCORE) && faceShaped(b);
      for (const tile of level.tiles) {
        for (const d of (await detectWindow(net, windowOf(scaled, tile.x, tile.y, DW, DH, padValue))).faces) {
          if (!tileHit(d.box, d.score) || touchesInnerEdge(d.box, tile, level, DW, DH)) continue;
          const box = toImage(d.box, tile, level);
          if (box) all.push({ score: d.score, level: k, box, ...pointsToImage(d, tile, level) });
        }
      }
    }
    const kept = nonMaxSuppression(all) as (Detection & { level: number })[];
    const pass = kept.length === 0 ? null : Math.min(...kept.map((d) => d.level));
    return { dets: kept as Detection[], pass, runs: 1 + detectorRuns(refinement.levels), refinement: refinement.reason };
  }

  /**
   * 68 landmarks in image pixels from the detector box: the box (kept inside the image, as the landmark net was trained on)
   * resized to the net's input, grey.
   */
  async function landmarksFor(sample: ReturnType<typeof chipSampler>, img: RawImage, box: Box, landmarker: Net): Promise<Point[]> {
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

  async function describe(chip: Uint8Array, threads = 1): Promise<Float32Array> {
    const net = embedderFor(threads);
    const out = await runNet(net, chip);
    return out[net.output]!.data as Float32Array;
  }

  async function analyze(img: RawImage, options: AnalyzeOptions = {}, run: AnalyzeRun = { threads: 1 }): Promise<{ faces: FaceAnalysis[]; timings: StageTimings }> {
    const timings: StageTimings = { detectMs: 0, landmarksMs: 0, alignMs: 0, embedMs: 0, detectionPass: null };
    let t = performance.now();
    // A chip cut by another deployment holds one face at a known place: no detection (its detector already found it).
    const { dets, pass, runs, refinement } = options.alignedChip
      ? { dets: [{ box: chipFaceBox(img.width, img.height), score: 1, points: undefined }], pass: 0, runs: 0, refinement: undefined }
      : await detect(img, options.detail, run.threads);
    timings.detectMs = performance.now() - t;
    timings.detectionPass = pass;
    timings.detectorRuns = runs;
    timings.refinement = refinement;
    let found = dets.sort((a, b) => area(b.box) - area(a.box));
    if (options.centreFaceOnly && found.length > 1) {
      const dist = (b: Box) => Math.hypot(b.x + b.width / 2 - img.width / 2, b.y + b.height / 2 - img.height / 2);
      found = [found.reduce((best, d) => (dist(d.box) < dist(best.box) ? d : best))];
    }
    const faces: FaceAnalysis[] = [];
    for (const d of found) {
      const sample = chipSampler(img, d.box);
      t = performance.now();
      const landmarks = landmarker ? await landmarksFor(sample, img, d.box, landmarker) : d.points!;
      timings.landmarksMs += performance.now() - t;

      t = performance.now();
      const chip = await sample(alignmentWarp(fivePoints(landmarks), template), E, embedder.cfg.height);
      const q = chipTransform(landmarks, QUALITY_CHIP, true, CHIP_PADDING);
      const qualityChip = await sample(q.slice(0, 6) as unknown as Affine, QUALITY_CHIP, QUALITY_CHIP);
      timings.alignMs! += performance.now() - t;

      t = performance.now();
      const plain = await describe(chip, run.threads);
      const raws = [plain];
      let mirrored: Float32Array | undefined;
      if (manifest.pipeline.flipTta || options.variants) {
        mirrored = await describe(flipHorizontal(chip, E, embedder.cfg.height), run.threads);
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

  /** Runs every net (and each session of it) once: ONNX Runtime allocates its arenas and plans on the first run. */
  async function warmUp(): Promise<void> {
    await analyze(warmUpImage(640, 480));
    if (idleThreads > 1) await analyze(warmUpImage(640, 480), {}, { threads: idleThreads });
    if (landmarker) await runNet(landmarker, new Uint8Array(landmarker.cfg.width * landmarker.cfg.height * 3));
    await describe(new Uint8Array(E * embedder.cfg.height * 3), idleThreads);
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
