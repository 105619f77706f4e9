import sharp from 'sharp';
import type { AnalyzedImage, AnalyzeOptions, DetectedFace, FaceEngine, ModelInfo } from '../../domain/face.types';
import { createFaceAnalyzer, type FaceAnalysis, type StageTimings } from './analyzer';
import type { BackendKind } from './backend';
import { decodeImage, type DecodeLimits } from './decode';
import { createWorkerPool } from './worker-pool';

/**
 * The FaceEngine the domain uses: decode (sharp, main thread — async on libuv's pool) → analyse (worker pool) → plain data.
 * Decode errors surface as AppErrors (415 / 413 / 422 IMAGE_TOO_LARGE); a full queue as OverloadedError (503).
 */
export interface FaceEngineConfig extends DecodeLimits {
  /** `auto` = tfjs-node when installed, else wasm; `cpu` only when asked for (see backend.ts). */
  backend: BackendKind;
  /** Inference worker threads (default: one per CPU). */
  workers: number;
  /** Requests allowed to wait for a worker before 503 OVERLOADED. */
  queueLimit: number;
  /** SSD confidence cut (default 0.5). */
  minDetectionScore?: number;
  /** Which models/*.manifest.json to run (FACE_MODEL; default DEFAULT_MODEL_ID). */
  modelId?: string;
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

async function toDetectedFace(f: FaceAnalysis): Promise<DetectedFace> {
  const face: DetectedFace = { box: f.box, detectionScore: f.detectionScore, quality: f.quality, embedding: f.embedding };
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

function engineFrom(
  model: ModelInfo,
  warmUpMs: number,
  limits: DecodeLimits,
  run: (img: Awaited<ReturnType<typeof decodeImage>>, o: AnalyzeOptions) => Promise<{ faces: FaceAnalysis[]; timings: Partial<EngineTimings> }>,
  queueDepth: () => number,
  close: () => Promise<void>,
): FaceEngineWithStats {
  return {
    model,
    warmUpMs,
    async analyze(image, options = {}) {
      const t0 = performance.now();
      const img = await decodeImage(image, limits);
      const decodeMs = performance.now() - t0;
      const { faces, timings } = await run(img, options);
      return {
        sha256: img.sha256,
        width: img.width,
        height: img.height,
        faces: await Promise.all(faces.map(toDetectedFace)),
        timings: { ...timings, decodeMs, totalMs: performance.now() - t0 },
      };
    },
    queueDepth,
    close,
  };
}

/** The production engine: resolves only when every worker has loaded, verified and warmed its models (so /readyz can wait). */
export async function createFaceEngine(cfg: FaceEngineConfig): Promise<FaceEngineWithStats> {
  const pool = await createWorkerPool({
    backend: cfg.backend,
    minDetectionScore: cfg.minDetectionScore,
    modelId: cfg.modelId,
    size: cfg.workers,
    queueLimit: cfg.queueLimit,
  });
  return engineFrom(pool.model, pool.warmUpMs, cfg, (img, o) => pool.run(img, o), pool.queueDepth, () => pool.close());
}

/**
 * Same engine, analysing on the calling thread (no workers, no queue): for scripts, evaluation and tests. It blocks the event
 * loop during inference, so the service never uses it. `numTensors()` exposes tfjs's live tensor count for leak tests.
 */
export async function createInProcessFaceEngine(
  cfg: Omit<FaceEngineConfig, 'workers' | 'queueLimit'>,
): Promise<FaceEngineWithStats & { numTensors(): number }> {
  const analyzer = await createFaceAnalyzer({ backend: cfg.backend, minDetectionScore: cfg.minDetectionScore, modelId: cfg.modelId });
  const engine = engineFrom(analyzer.model, analyzer.warmUpMs, cfg, (img, o) => analyzer.analyze(img, o), () => 0, async () => undefined);
  return { ...engine, numTensors: () => analyzer.numTensors() };
}
