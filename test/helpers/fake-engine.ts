import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { AnalyzedImage, Box, DetectedFace, FaceEngine } from '../../src/shared/face.types';
import { DEFAULT_MODEL_ID, listManifests, modelInfo, readManifest } from '../../src/platform/face/model-manifest';
import { normalise, seededUnitVectors } from './vectors';

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
  const embeddingOf = (sha256: string) => seededUnitVectors(1, m.embeddingSize, parseInt(sha256.slice(0, 8), 16))[0]!;
  const face = (embedding: number[]) => ({ box: { x: 10, y: 10, width: 50, height: 50 }, detectionScore: 0.99, quality: { score: 0.9, issues: [], metrics: {} }, embedding });
  return {
    model: { id: m.id, detector: m.detector, embedder: m.embedder, version: m.version, weightsSha256: '0'.repeat(64), dimensions: m.embeddingSize, backend: 'none' },
    /** The "crop" of an image names its bytes' hash, so a chip sent to another deployment embeds as the same face there. */
    async analyzeChips(chips: Buffer[]): Promise<AnalyzedImage> {
      const faces = chips.map((c) => {
        const named = /^crop of ([0-9a-f]{64})$/.exec(c.toString('latin1'));
        return face(embeddingOf(named ? named[1]! : createHash('sha256').update(c).digest('hex')));
      });
      return { sha256: createHash('sha256').update(Buffer.concat(chips)).digest('hex'), width: 256, height: 256, faces };
    },
    async analyze(image: Buffer, options): Promise<AnalyzedImage> {
      const sha256 = createHash('sha256').update(image).digest('hex');
      const embedding = embeddingOf(sha256);
      return {
        sha256,
        width: 100,
        height: 100,
        faces: [{ ...face(embedding), ...(options?.withCrops ? { cropJpeg: Buffer.from(`crop of ${sha256}`) } : {}) }],
      };
    },
    queueDepth: () => 0,
    close: async () => undefined,
  };
}

/** A small real PNG (enrolment checks the bytes are an image) whose bytes, and so whose stand-in template, depend on `seed`. */
export async function seededPng(seed: number): Promise<Buffer> {
  return sharp({ create: { width: 8, height: 8, channels: 3, background: { r: seed % 256, g: (seed >> 8) % 256, b: 7 } } }).png().toBuffer();
}

export interface ScriptedFace {
  /** Seed of the face's identity: the same seed gives the same embedding (a perfect match). */
  identity: number;
  /**
   * Blend in another identity: the embedding is the unit vector along (1 − weight)·identity + weight·mixWith, so its similarity
   * to `identity`'s enrolled template falls as `weight` grows (0 → 1). Crafts near misses; see `scriptedEngine().embedding`.
   */
  mixWith?: number;
  weight?: number;
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
  const identityOf = (identity: number) => seededUnitVectors(1, dims, identity)[0]!;
  const embeddingOf = (f: ScriptedFace) => {
    const a = identityOf(f.identity);
    if (f.mixWith === undefined) return a;
    const w = f.weight ?? 0.5;
    const b = identityOf(f.mixWith);
    return normalise(a.map((x, i) => (1 - w) * x + w * b[i]!));
  };
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
          embedding: embeddingOf(f),
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
    /** The embedding a scripted face gets (to compute the similarity a test will see). */
    embedding: embeddingOf,
    /** The image (any distinct bytes) will show these faces, largest first. */
    script(image: Buffer, faces: ScriptedFace[]) {
      scripts.set(sha(image), faces);
      return image;
    },
  };
}
