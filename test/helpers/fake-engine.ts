import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { AnalyzedImage, Box, DetectedFace, FaceEngine } from '../../src/domain/face.types';
import { DEFAULT_MODEL_ID, modelInfo, readManifest } from '../../src/infra/face/model-manifest';
import { seededUnitVectors } from './vectors';

export interface ScriptedFace {
  /** Seed of the face's identity: the same seed gives the same embedding (a perfect match). */
  identity: number;
  box?: Box;
  quality?: number;
}

/**
 * A stand-in face engine for tests that are about storage, review and the API, not the model: each image registered with
 * `script` yields the scripted faces (embeddings of the default model's length, read from its manifest; a real JPEG crop per
 * face, made with sharp). Unregistered images have no face.
 */
export function scriptedEngine() {
  const manifest = readManifest(DEFAULT_MODEL_ID);
  const dims = manifest.embeddingSize;
  const scripts = new Map<string, ScriptedFace[]>();
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const embeddingOf = (identity: number) => seededUnitVectors(1, dims, identity)[0]!;
  const cropOf = (identity: number) =>
    sharp({ create: { width: 112, height: 112, channels: 3, background: { r: (identity * 53) % 256, g: (identity * 97) % 256, b: 140 } } }).jpeg().toBuffer();

  const engine: FaceEngine = {
    model: { ...modelInfo(manifest, 'scripted'), weightsSha256: '0'.repeat(64) },
    async analyze(image, options): Promise<AnalyzedImage> {
      const faces: DetectedFace[] = [];
      for (const [i, f] of (scripts.get(sha(image)) ?? []).entries()) {
        faces.push({
          box: f.box ?? { x: 20 + i * 120, y: 30, width: 100, height: 100 },
          detectionScore: 0.99,
          quality: { score: f.quality ?? 0.9, issues: [], metrics: {} },
          embedding: embeddingOf(f.identity),
          ...(options?.withCrops ? { cropJpeg: await cropOf(f.identity) } : {}),
        });
      }
      return { sha256: sha(image), width: 640, height: 480, faces };
    },
    queueDepth: () => 0,
    close: async () => undefined,
  };
  return {
    engine,
    /** The image (any distinct bytes) will show these faces, largest first. */
    script(image: Buffer, faces: ScriptedFace[]) {
      scripts.set(sha(image), faces);
      return image;
    },
  };
}
