import path from 'node:path';

/**
 * The single place that chooses the TensorFlow.js backend and the matching face-api build. Nothing here downloads: the WASM
 * binaries come from the installed `@tensorflow/tfjs-backend-wasm` package.
 *
 * - `tensorflow`: `@tensorflow/tfjs-node` (native libtensorflow) with face-api's `face-api.node.js` build; throws when absent.
 * - `wasm`: `@tensorflow/tfjs` + `@tensorflow/tfjs-backend-wasm` (single-threaded SIMD in Node) with `face-api.node-wasm.js`.
 * - `auto`: `tensorflow` when `@tensorflow/tfjs-node` is installed, else `wasm`.
 * - `cpu`: pure-JS kernels, 25-30x slower; only when configured explicitly. A failing `wasm` init throws, never falls back to cpu.
 */
export type BackendKind = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export type FaceApi = typeof import('@vladmandic/face-api');
export type Tf = typeof import('@tensorflow/tfjs');

export interface FaceRuntime {
  faceapi: FaceApi;
  /** The tfjs instance face-api itself uses (its build re-exports it), so tensors we create are the ones it consumes. */
  tf: Tf;
  /** The backend actually in use: 'tensorflow' | 'wasm' | 'cpu'. Callers log it and put it in ModelInfo. */
  backend: string;
}

const FACE_API_DIST = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'dist');

/** Directory holding tfjs-backend-wasm's .wasm files (with a trailing slash, as setWasmPaths expects for a prefix). */
export function wasmDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'dist') + path.sep;
}

function hasTfjsNode(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

async function initTensorflow(): Promise<FaceRuntime> {
  // face-api.node.js does require('@tensorflow/tfjs-node') itself and registers the 'tensorflow' backend.
  const faceapi = require(path.join(FACE_API_DIST, 'face-api.node.js')) as FaceApi;
  const tf = faceapi.tf as unknown as Tf;
  if (!(await tf.setBackend('tensorflow'))) throw new Error('TensorFlow backend "tensorflow" (tfjs-node) failed to initialise');
  await tf.ready();
  return { faceapi, tf, backend: tf.getBackend() };
}

async function initWasmBuild(backend: 'wasm' | 'cpu'): Promise<FaceRuntime> {
  // face-api.node-wasm.js requires '@tensorflow/tfjs' and '@tensorflow/tfjs-backend-wasm': the same module instances as ours.
  const faceapi = require(path.join(FACE_API_DIST, 'face-api.node-wasm.js')) as FaceApi;
  const tf = faceapi.tf as unknown as Tf;
  if (backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    // A path prefix read with fs by the emscripten loader (usePlatformFetch=false: Node's fetch cannot read file paths).
    wasm.setWasmPaths(wasmDir());
  }
  const before = processListeners();
  try {
    // tfjs state is per thread: a second analyzer in the same thread finds the backend already active.
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    await tf.ready();
  } catch (e) {
    throw new Error(`TensorFlow backend "${backend}" failed to initialise: ${(e as Error).message}`);
  } finally {
    // The emscripten runtime installs process-wide uncaughtException/unhandledRejection handlers that rethrow (turning any
    // unhandled rejection anywhere into a crash). They are not ours to keep: remove exactly the ones added during init.
    restoreProcessListeners(before);
  }
  if (tf.getBackend() !== backend) throw new Error(`TensorFlow backend "${backend}" failed to initialise (active: ${tf.getBackend()})`);
  return { faceapi, tf, backend };
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const EVENTS: ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];

type Listener = (...args: unknown[]) => void;
const proc = process as unknown as NodeJS.EventEmitter;

function processListeners(): Map<ProcessEvent, Listener[]> {
  return new Map(EVENTS.map((e) => [e, proc.listeners(e) as Listener[]]));
}

function restoreProcessListeners(before: Map<ProcessEvent, Listener[]>): void {
  for (const e of EVENTS) {
    const old = before.get(e) ?? [];
    for (const l of proc.listeners(e) as Listener[]) if (!old.includes(l)) proc.removeListener(e, l);
  }
}

/** Initialises the backend for this thread (tfjs state is per thread/isolate) and returns the runtime plus the backend name. */
export async function initFaceRuntime(kind: BackendKind): Promise<FaceRuntime> {
  switch (kind) {
    case 'tensorflow':
      return initTensorflow();
    case 'auto':
      return hasTfjsNode() ? initTensorflow() : initWasmBuild('wasm');
    case 'wasm':
      return initWasmBuild('wasm');
    case 'cpu':
      return initWasmBuild('cpu');
  }
}
