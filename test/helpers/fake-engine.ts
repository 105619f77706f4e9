import { createHash } from 'node:crypto';
import type { AnalyzedImage, FaceEngine } from '../../src/domain/face.types';
import { DEFAULT_MODEL_ID, listManifests, readManifest } from '../../src/infra/face/model-manifest';
import { seededUnitVectors } from './vectors';

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

/**
 * A stand-in face engine for tests that are not about the model: every image holds one face whose embedding is a seeded unit
 * vector derived from the image bytes (same bytes → same template, similarity 1). It claims the default model, with that
 * model's embedding length and calibration table, so everything after the engine (kNN, thresholds, storage, audit) is real.
 */
export function bytesFaceEngine(): FaceEngine {
  const m = listManifests().get(DEFAULT_MODEL_ID)!;
  return {
    model: { id: m.id, detector: m.detector, embedder: m.embedder, version: m.version, weightsSha256: '0'.repeat(64), dimensions: m.embeddingSize, backend: 'none' },
    async analyze(image: Buffer, options): Promise<AnalyzedImage> {
      const sha256 = createHash('sha256').update(image).digest('hex');
      const [embedding] = seededUnitVectors(1, m.embeddingSize, parseInt(sha256.slice(0, 8), 16));
      return {
        sha256,
        width: 100,
        height: 100,
        faces: [
          {
            box: { x: 10, y: 10, width: 50, height: 50 },
            detectionScore: 0.99,
            quality: { score: 0.9, issues: [], metrics: {} },
            embedding: embedding!,
            ...(options?.withCrops ? { cropJpeg: Buffer.from(`crop of ${sha256}`) } : {}),
          },
        ],
      };
    },
    queueDepth: () => 0,
    close: async () => undefined,
  };
}

/** A small real PNG (enrolment checks the bytes are an image) whose bytes, and so whose stand-in template, depend on `seed`. */
export async function seededPng(seed: number): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp({ create: { width: 8, height: 8, channels: 3, background: { r: seed % 256, g: (seed >> 8) % 256, b: 7 } } }).png().toBuffer();
}
