import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { ValidationError } from '../../shared/errors';
import type { Config } from '../../config';
import type { AnalyzedImage, AnalyzeOptions, Box, DetectedFace, FaceEngine, ModelInfo } from '../../shared/face.types';
import type { FaceAnalysis, StageTimings } from './analysis.types';
import type { BackendKind } from './backend';
import { decodeImage, type DecodedImage, type DecodeLimits } from './decode';
import { createFaceAnalyzer } from './runtime';
import { createWorkerPool, type Admission } from './worker-pool';

/**
 * The FaceEngine the domain uses: admit (a place in the worker pool, or 503 at once) → decode (sharp, main thread, async on
 * libuv's pool; large images downscaled while decoding) → analyse (worker pool) → plain data in the uploaded image's pixels.
 * Decode errors surface as AppErrors (415 / 413 / 422 IMAGE_TOO_LARGE); a full pool as OverloadedError (503).
 */
export interface FaceEngineConfig extends DecodeLimits {
  /** tfjs models: `auto` = tfjs-node when installed, else wasm; `cpu` only when asked for (see backend.ts). */
  backend: BackendKind;
  /** Inference worker threads (default: one per CPU). */
  workers: number;
  /** Requests allowed to wait for a worker before 503 OVERLOADED. */
  queueLimit: number;
  /** Detector confidence cut (default: the model's own). */
  minDetectionScore?: number;
  /** Which model manifest to run (FACE_MODEL; default DEFAULT_MODEL_ID). */
  modelId?: string;
  /** FACE_MODELS_DIR: a deployment's own manifests and weights. */
  modelsDir?: string;
  /** Smallest face side (pixels) the ONNX pipeline's tiled detection looks for. */
  minFacePx?: number;
  /** Intra-op threads an analysis may use while the other workers are idle (FACE_IDLE_THREADS; pool only). */
  idleThreads?: number;
  /** A job running longer than this stops its worker (IMAGE_UNPROCESSABLE); default 30 s. */
  jobTimeoutMs?: number;
  /** Observers for /metrics. */
  observe?: EngineObserver;
}

/** The engine settings the configuration decides (FACE_*, image limits); callers add what is theirs (observers, queue size). */
export function engineConfigFrom(config: Config): FaceEngineConfig {
  return {
    backend: config.face.backend,
    workers: config.face.workers,
    queueLimit: config.face.queueLimit,
    maxPixels: config.limits.imagePixels,
    maxBytes: config.limits.uploadBytes,
    maxAnalysisPixels: config.face.maxAnalysisPixels,
    minDetectionScore: config.face.minDetectionScore,
    modelId: config.face.model,
    modelsDir: config.face.modelsDir,
    minFacePx: config.face.minFacePx,
    idleThreads: config.face.idleThreads,
    jobTimeoutMs: config.face.jobTimeoutMs,
  };
}

export interface EngineObserver {
  /** Seconds spent in one stage of one image: decode, detect, landmarks, align, embed. */
  stage?(stage: 'decode' | 'detect' | 'landmarks' | 'align' | 'embed', seconds: number): void;
  workerRestart?(reason: 'crash' | 'timeout'): void;
  rejected?(reason: 'overloaded'): void;
}

/** Stage timings (ms) attached to every result for /metrics and logs. */
export interface EngineTimings extends Partial<StageTimings> {
  decodeMs: number;
  queueMs?: number;
  inferenceMs?: number;
  totalMs: number;
}

export type AnalyzedImageWithTimings = AnalyzedImage & { timings: EngineTimings };

export interface FaceEngineWithStats extends FaceEngine {
  analyze(image: Buffer, options?: AnalyzeOptions): Promise<AnalyzedImageWithTimings>;
  /** Slowest worker's warm-up in ms (the in-process engine: its own). */
  readonly warmUpMs: number;
}

async function toDetectedFace(f: FaceAnalysis, scale: number): Promise<DetectedFace> {
  const box: Box = scale === 1 ? f.box : { x: f.box.x / scale, y: f.box.y / scale, width: f.box.width / scale, height: f.box.height / scale };
  const face: DetectedFace = { box, detectionScore: f.detectionScore, quality: f.quality, embedding: f.embedding };
  if (f.variants) face.variants = f.variants;
  if (f.crop) {
    face.cropJpeg = await sharp(Buffer.from(f.crop.data.buffer, f.crop.data.byteOffset, f.crop.data.byteLength), {
      raw: { width: f.crop.width, height: f.crop.height, channels: 3 },
    })
      .jpeg({ quality: 90 })
      .toBuffer();
  }
  return face;
}

type Run = (img: DecodedImage, o: AnalyzeOptions) => Promise<{ faces: FaceAnalysis[]; timings: Partial<EngineTimings> }>;

function engineFrom(
  model: ModelInfo,
  warmUpMs: number,
  cfg: FaceEngineConfig | Omit<FaceEngineConfig, 'workers' | 'queueLimit'>,
  admit: () => { run: Run; release(): void },
  queueDepth: () => number,
  close: () => Promise<void>,
): FaceEngineWithStats {
  const observe = cfg.observe ?? {};
  const analyze = async (image: Buffer, options: AnalyzeOptions = {}): Promise<AnalyzedImageWithTimings> => {
    const t0 = performance.now();
    const place = admit();
    try {
      const img = await decodeImage(image, cfg);
      const decodeMs = performance.now() - t0;
      const { faces, timings } = await place.run(img, options);
      observe.stage?.('decode', decodeMs / 1000);
      for (const stage of ['detect', 'landmarks', 'align', 'embed'] as const) {
        const v = timings[`${stage}Ms`];
        if (v !== undefined) observe.stage?.(stage, v / 1000);
      }
      return {
        sha256: img.sha256,
        width: img.originalWidth,
        height: img.originalHeight,
        faces: await Promise.all(faces.map((f) => toDetectedFace(f, img.scale))),
        timings: { ...timings, decodeMs, totalMs: performance.now() - t0 },
      };
    } finally {
      place.release();
    }
  };
  return {
    model,
    warmUpMs,
    analyze,
    async analyzeChips(chips) {
      const faces: DetectedFace[] = [];
      let first: { width: number; height: number } | null = null;
      for (const chip of chips) {
        // The geometry is checked on the header before any pixel is decoded.
        const m = await sharp(chip).metadata().catch(() => null);
        if (m && (m.width !== m.height || (m.width ?? 0) < MIN_CHIP_PX || (m.width ?? 0) > MAX_CHIP_PX)) {
          throw new ValidationError(`A face chip must be square, ${MIN_CHIP_PX} to ${MAX_CHIP_PX} pixels a side (this one is ${m.width}x${m.height}).`);
        }
        const r = await analyze(chip, { alignedChip: true });
        first ??= r;
        faces.push(r.faces[0]!);
      }
      const sha256 = createHash('sha256');
      for (const c of chips) sha256.update(createHash('sha256').update(c).digest());
      return { sha256: sha256.digest('hex'), width: first?.width ?? 0, height: first?.height ?? 0, faces };
    },
    queueDepth,
    close,
  };
}

/** Bounds of a face chip another deployment sends (its reviewer crop is 256 px). */
const MIN_CHIP_PX = 64;
const MAX_CHIP_PX = 1024;

/** The production engine: resolves only when every worker has loaded, verified and warmed its models (so /readyz can wait). */
export async function createFaceEngine(cfg: FaceEngineConfig): Promise<FaceEngineWithStats> {
  const pool = await createWorkerPool({
    backend: cfg.backend,
    minDetectionScore: cfg.minDetectionScore,
    modelId: cfg.modelId,
    modelsDir: cfg.modelsDir,
    minFacePx: cfg.minFacePx,
    idleThreads: cfg.idleThreads,
    size: cfg.workers,
    queueLimit: cfg.queueLimit,
    jobTimeoutMs: cfg.jobTimeoutMs,
    onWorkerRestart: (reason) => cfg.observe?.workerRestart?.(reason),
  });
  const admit = () => {
    let place: Admission;
    try {
      place = pool.admit();
    } catch (e) {
      cfg.observe?.rejected?.('overloaded');
      throw e;
    }
    return { run: (img: DecodedImage, o: AnalyzeOptions) => place.run(img, o), release: () => place.release() };
  };
  return engineFrom(pool.model, pool.warmUpMs, cfg, admit, pool.queueDepth, () => pool.close());
}

/**
 * Same engine, analysing on the calling thread (no workers, no queue): for scripts, evaluation and tests. It blocks the event
 * loop during inference, so the service never uses it. `numTensors()` exposes tfjs's live tensor count for leak tests (0 on ONNX).
 */
export async function createInProcessFaceEngine(
  cfg: Omit<FaceEngineConfig, 'workers' | 'queueLimit'>,
): Promise<FaceEngineWithStats & { numTensors(): number }> {
  const analyzer = await createFaceAnalyzer(cfg);
  const admit = () => ({ run: ((img, o) => analyzer.analyze(img, o)) as Run, release: () => undefined });
  const engine = engineFrom(analyzer.model, analyzer.warmUpMs, cfg, admit, () => 0, async () => undefined);
  return { ...engine, numTensors: () => analyzer.numTensors() };
}
