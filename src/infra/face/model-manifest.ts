import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelInfo } from '../../domain/face.types';
import { PROJECT_ROOT } from '../project-root';

/**
 * `models/<name>.manifest.json` names the weight files the service loads (inside the installed face-api package's `model/` folder)
 * with their SHA-256 sums. Loading verifies every sum and refuses to start on a mismatch: a changed weight file would silently
 * make new templates incomparable with the stored ones.
 */
export interface ManifestFile {
  /** Relative to `<@vladmandic/face-api>/model/`. */
  path: string;
  sha256: string;
}

export interface ModelManifest {
  /** Stable model id stored with every template. Change it whenever weights or the detect/align/embed pipeline change. */
  id: string;
  detector: string;
  embedder: string;
  version: string;
  embeddingSize: number;
  /** How templates are computed from the nets: part of what the model id names (a change here needs a new id). */
  pipeline: {
    alignRotation: boolean;
    flipTta: boolean;
    /** Margin around the landmarks' bounding box on each side, as a fraction of its size (align.ts). */
    chipPadding: number;
  };
  models: { name: 'ssdMobilenetv1' | 'faceLandmark68Net' | 'faceRecognitionNet'; role: string; files: ManifestFile[] }[];
}

/** `<project>/models`: one `<name>.manifest.json` per model id the service can run, and `calibration/` tables. */
export const MODELS_DIR = path.join(PROJECT_ROOT, 'models');
/** The model the service runs unless FACE_MODEL names another (the best measured: docs/ACCURACY.md). */
export const DEFAULT_MODEL_ID = 'faceapi-ssd-r34-128-flip@1.7.15';
export const FACE_API_MODEL_DIR = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');

export const sha256Hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** Every manifest in `dir`, by model id. */
export function listManifests(dir = MODELS_DIR): Map<string, ModelManifest> {
  const out = new Map<string, ModelManifest>();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.manifest.json')).sort()) {
    const m = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ModelManifest;
    if (out.has(m.id)) throw new Error(`models/${f}: model id ${m.id} is declared twice`);
    out.set(m.id, m);
  }
  return out;
}

/** The manifest of one model id; throws naming the ids there are. */
export function readManifest(modelId = DEFAULT_MODEL_ID, dir = MODELS_DIR): ModelManifest {
  const all = listManifests(dir);
  const m = all.get(modelId);
  if (!m) throw new Error(`no model manifest for FACE_MODEL=${modelId} in ${dir}; available: ${[...all.keys()].join(', ')}`);
  return m;
}

/** SHA-256 over the per-file sums (hex, concatenated with '\n') in manifest order. */
export function weightsSha256(m: ModelManifest): string {
  return sha256Hex(m.models.flatMap((n) => n.files.map((f) => f.sha256)).join('\n'));
}

export interface VerifiedNet {
  name: ModelManifest['models'][number]['name'];
  /** tfjs weights manifest (the parsed `*-weights_manifest.json`). */
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
  /** The shard bytes, in weightsManifest path order, exactly the bytes whose sums were checked. */
  shards: Uint8Array[];
}

/**
 * Reads every file named by the manifest, checks its SHA-256 and returns the verified bytes (so what is loaded is what was
 * checked). Throws naming the file on a missing file or a mismatch.
 */
export function readVerifiedWeights(m: ModelManifest, modelDir = FACE_API_MODEL_DIR): VerifiedNet[] {
  const read = (f: ManifestFile): Buffer => {
    const full = path.join(modelDir, f.path);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(full);
    } catch (e) {
      throw new Error(`model file ${full} (listed in its models/*.manifest.json) cannot be read: ${(e as Error).message}`);
    }
    const actual = sha256Hex(bytes);
    if (actual !== f.sha256) {
      throw new Error(`model file ${full} fails its SHA-256 check: expected ${f.sha256}, found ${actual}. Refusing to load it.`);
    }
    return bytes;
  };
  return m.models.map((net) => {
    const byPath = new Map(net.files.map((f) => [f.path, read(f)] as const));
    const manifestFile = net.files.find((f) => f.path.endsWith('-weights_manifest.json'));
    if (!manifestFile) throw new Error(`model manifest: ${net.name} lists no *-weights_manifest.json`);
    const weightsManifest = JSON.parse(byPath.get(manifestFile.path)!.toString('utf8')) as VerifiedNet['weightsManifest'];
    const dir = path.posix.dirname(manifestFile.path);
    const shards = weightsManifest.flatMap((g) =>
      g.paths.map((p) => {
        const rel = dir === '.' ? p : `${dir}/${p}`;
        const b = byPath.get(rel);
        if (!b) throw new Error(`model manifest: ${net.name} shard ${rel} is not listed with a SHA-256`);
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }),
    );
    return { name: net.name, weightsManifest, shards };
  });
}

export function modelInfo(m: ModelManifest, backend: string): ModelInfo {
  return {
    id: m.id,
    detector: m.detector,
    embedder: m.embedder,
    version: m.version,
    weightsSha256: weightsSha256(m),
    dimensions: m.embeddingSize,
    backend,
  };
}
