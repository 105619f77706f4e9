import { createHash } from 'node:crypto';
import type { AnalyzedImage, FaceEngine } from '../../src/domain/face.types';
import { DEFAULT_MODEL_ID, readManifest } from '../../src/infra/face/model-manifest';

/**
 * A stand-in face engine for tests that are not about the model: one fixed face per image, with an embedding as long as the
 * configured model's (read from its manifest, never hardcoded). Everything after the engine — kNN, storage, audit — is real.
 */
export function fixedFaceEngine(modelId = DEFAULT_MODEL_ID): FaceEngine {
  const m = readManifest(modelId);
  const dimensions = m.embeddingSize;
  const embedding = Array.from({ length: dimensions }, (_, i) => (i === 0 ? 1 : 0));
  return {
    model: { id: m.id, detector: m.detector, embedder: m.embedder, version: m.version, weightsSha256: '0'.repeat(64), dimensions, backend: 'none' },
    async analyze(image: Buffer): Promise<AnalyzedImage> {
      return {
        sha256: createHash('sha256').update(image).digest('hex'),
        width: 100,
        height: 100,
        faces: [{ box: { x: 10, y: 10, width: 50, height: 50 }, detectionScore: 0.99, quality: { score: 0.9, issues: [], metrics: {} }, embedding }],
      };
    },
    queueDepth: () => 0,
    close: async () => undefined,
  };
}
