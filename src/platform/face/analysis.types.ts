import type { AnalyzeOptions, Box, FaceQuality, ModelInfo } from '../../shared/face.types';
import type { RawImage } from './decode';
import type { Point } from './quality';

/** What every analyzer (tfjs or ONNX runtime) returns per face, in the pixel space of the image it was given. */
export interface FaceAnalysis {
  box: Box;
  detectionScore: number;
  quality: FaceQuality;
  /** L2-normalised template, the manifest's embeddingSize values. */
  embedding: number[];
  /** 68 landmarks (iBUG layout). */
  landmarks: Point[];
  /** Aligned RGB crop for reviewers (withCrops only). */
  crop?: RawImage;
  /**
   * Raw (not centred, not normalised) descriptors of each pipeline variant the analyzer can compute, keyed by name
   * (AnalyzeOptions.variants only): what `npm run eval` compares. `+flip` = mean with the mirrored chip's descriptor.
   */
  variants?: EmbeddingVariants;
}

/** tfjs: `aligned` (eye-levelled chip), `axis` (face-api's axis-aligned chip); ONNX: `aligned` (5-point ArcFace); each `+flip`. */
export type EmbeddingVariants = Record<string, number[]>;

/** Milliseconds per stage for one image (summed over its faces). */
export interface StageTimings {
  detectMs: number;
  landmarksMs: number;
  /** Chip sampling (ONNX pipeline; the tfjs pipeline counts it in embedMs). */
  alignMs?: number;
  embedMs: number;
  /** Which pass found the faces: 0 = the image itself, n = the n-th later pass (padded copy or finer tiled level); null when none did. */
  detectionPass: number | null;
  /** ONNX pipeline: detector runs (windows) spent on the image, and why finer levels ran (detection-plan.ts refineDetection). */
  detectorRuns?: number;
  refinement?: 'none' | 'small-faces' | 'nothing-found' | 'hints';
}

/** How one analysis may run (chosen by the worker pool, not by the caller): intra-op threads per net run. */
export interface AnalyzeRun {
  /** 1, or more when the pool's other workers are idle (worker-pool.ts). */
  threads: number;
}

export interface FaceAnalyzer {
  readonly model: ModelInfo;
  readonly warmUpMs: number;
  analyze(img: RawImage, options?: AnalyzeOptions, run?: AnalyzeRun): Promise<{ faces: FaceAnalysis[]; timings: StageTimings }>;
  /** Live tfjs tensors (leak tests); 0 for runtimes without a tensor registry. */
  numTensors(): number;
}
