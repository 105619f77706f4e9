import type { FaceAnalyzer } from './analysis.types';
import type { BackendKind } from './backend';
import { manifestDirs, readManifest } from './model-manifest';

/**
 * The one place that chooses an inference runtime: the model manifest says which (`runtime`: `onnx` → ONNX Runtime,
 * onnx.analyzer.ts; absent or `tfjs` → TensorFlow.js with face-api, tfjs.analyzer.ts). Each runtime's module is loaded only
 * when a manifest asks for it, so an ONNX-only deployment never initialises TensorFlow.js and vice versa.
 */
export interface AnalyzerOptions {
  /** TensorFlow.js backend (tfjs models only). */
  backend: BackendKind;
  /** Detector confidence cut; default: the model's own (manifest). */
  minDetectionScore?: number;
  /** FACE_MODEL; default DEFAULT_MODEL_ID. */
  modelId?: string;
  /** FACE_MODELS_DIR: a folder of a deployment's own manifests and weights, searched after the project's models/. */
  modelsDir?: string;
  /** Smallest face side (image pixels) the ONNX pipeline's tiled detection looks for. */
  minFacePx?: number;
  /** ONNX: intra-op threads a run may use when its caller allows more than one (worker-pool.ts); default 1. */
  idleThreads?: number;
}

export async function createFaceAnalyzer(o: AnalyzerOptions): Promise<FaceAnalyzer> {
  const manifest = readManifest(o.modelId, manifestDirs(o.modelsDir));
  if (manifest.runtime === 'onnx') {
    // require, not import(): worker threads run sources through tsx's CommonJS hook only (worker-pool.ts).
    const { createOnnxAnalyzer } = require('./onnx.analyzer') as typeof import('./onnx.analyzer');
    return createOnnxAnalyzer({ manifest, minDetectionScore: o.minDetectionScore, minFacePx: o.minFacePx, idleThreads: o.idleThreads });
  }
  const { createTfjsAnalyzer } = require('./tfjs.analyzer') as typeof import('./tfjs.analyzer');
  return createTfjsAnalyzer({ backend: o.backend, minDetectionScore: o.minDetectionScore, manifest });
}
