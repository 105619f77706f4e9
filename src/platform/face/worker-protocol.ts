import type { AnalyzeOptions, ModelInfo } from '../../shared/face.types';
import type { FaceAnalysis, StageTimings } from './analysis.types';
import type { BackendKind } from './backend';

/** Messages between the pool (main thread) and face.worker.ts. Plain structured-clone data; pixel buffers are transferred. */
export interface WorkerData {
  backend: BackendKind;
  minDetectionScore?: number;
  modelId?: string;
  modelsDir?: string;
  minFacePx?: number;
  /** Intra-op threads an analysis may use while the other workers are idle (AnalyzeRequest.threads). */
  idleThreads?: number;
}

export interface AnalyzeRequest {
  id: number;
  /** Packed RGB, width*height*3 bytes; transferred (the sender's copy is detached). */
  pixels: ArrayBuffer;
  width: number;
  height: number;
  options: AnalyzeOptions;
  /** Intra-op threads for this analysis: WorkerData.idleThreads when no other worker was busy at dispatch, else 1. */
  threads: number;
}

export type WorkerMessage =
  | { type: 'ready'; model: ModelInfo; warmUpMs: number }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; faces: FaceAnalysis[]; timings: StageTimings; inferenceMs: number; numTensors: number }
  | { type: 'error'; id: number; message: string };
