/** Plain data shapes shared between the face engine (platform/face) and the domain. No tfjs types cross this line. */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type QualityIssue = 'SMALL_FACE' | 'BLUR' | 'EXTREME_POSE' | 'LOW_DETECTION_SCORE' | 'POOR_EXPOSURE';

export interface FaceQuality {
  /** 0 (unusable) … 1 (ideal). */
  score: number;
  issues: QualityIssue[];
  /** The raw measurements behind the score, for reviewers and tuning. */
  metrics: Record<string, number>;
}

export interface DetectedFace {
  /** Box in the pixel space of the decoded, EXIF-rotated image. */
  box: Box;
  detectionScore: number;
  quality: FaceQuality;
  /** Unit-length (L2-normalised) embedding; cosine similarity = dot product. */
  embedding: number[];
  /** JPEG of the aligned face crop (what a reviewer compares), present when asked for. */
  cropJpeg?: Buffer;
  /** Raw descriptors (not centred or normalised) of every chip geometry × flip, keyed by name, when asked for (evaluation). */
  variants?: Record<string, number[]>;
}

export interface AnalyzedImage {
  /** SHA-256 (hex) of the uploaded bytes, as received. */
  sha256: string;
  width: number;
  height: number;
  /** Largest face first. */
  faces: DetectedFace[];
}

export interface ModelInfo {
  /** Stable id stored with every template; searches compare only templates of the same id. */
  id: string;
  detector: string;
  embedder: string;
  version: string;
  /** SHA-256 over the weight files' sums, in manifest order. */
  weightsSha256: string;
  dimensions: number;
  backend: string;
}

/** How hard detection looks: AnalyzeOptions.detail. */
export const DETECTION_DETAILS = ['standard', 'small-faces'] as const;
export type DetectionDetail = (typeof DETECTION_DETAILS)[number];

export interface AnalyzeOptions {
  /** Produce the aligned crop JPEG of each face (enrolment). */
  withCrops?: boolean;
  /** Keep only the face nearest the image centre (evaluation on LFW-style crops). */
  centreFaceOnly?: boolean;
  /** Also embed every chip geometry × flip combination (evaluation only: four extra passes of the embedder per face). */
  variants?: boolean;
  /**
   * How hard detection looks (ONNX pipeline; the tfjs pipelines always run their one plan): `standard` (default) looks at the
   * whole image and spends finer tiled levels only where it found nothing or saw hints of faces too small for it;
   * `small-faces` runs every level on every tile (faces down to FACE_MIN_FACE_PX: crowds, CCTV stills).
   */
  detail?: DetectionDetail;
  /**
   * The image is one face chip in the reviewer-crop geometry (`cropJpeg`: square, eye-levelled, the 68-landmark box padded by
   * 20 % per side): no detection; the face is the chip's central square, and the analyzer aligns and embeds it its own way.
   */
  alignedChip?: boolean;
}

export interface FaceEngine {
  readonly model: ModelInfo;
  /** Decodes, detects, aligns, embeds. Throws AppErrors for undecodable / oversized input and OverloadedError when the queue is full. */
  analyze(image: Buffer, options?: AnalyzeOptions): Promise<AnalyzedImage>;
  /**
   * Embeds face chips another deployment cut (`cropJpeg` geometry, see AnalyzeOptions.alignedChip), one face per chip in
   * order, without detection. `sha256` is over the chips in order; width/height are the first chip's.
   */
  analyzeChips?(chips: Buffer[]): Promise<AnalyzedImage>;
  /** Requests waiting for a worker (for /metrics and admission). */
  queueDepth(): number;
  close(): Promise<void>;
}
