import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AnalyzeOptions, ModelInfo } from '../../shared/face.types';
import { AnalysisFailedError, OverloadedError } from '../../shared/errors';
import type { FaceAnalysis, StageTimings } from './analysis.types';
import type { RawImage } from './decode';
import type { AnalyzeRequest, WorkerData, WorkerMessage } from './worker-protocol';

/**
 * A fixed pool of inference workers (worker_threads) so detection and embedding never block the event loop.
 * - Admission comes first (`admit`, before the caller decodes anything): a request holds a place while it decodes, then its job
 *   goes to an idle worker or waits in a FIFO. Places = workers + `queueLimit`; with none left `admit` throws OverloadedError
 *   at once (503 + Retry-After, estimated from recent job durations), so overload costs no decoding.
 * - A worker that dies (a crash, its heap limit `workerHeapMb`, or a job over `jobTimeoutMs`, after which it is terminated)
 *   fails its in-flight job with AnalysisFailedError and is replaced; the pool never stays short of workers.
 * - Idle cores: a job dispatched while no other worker is busy and nothing else waits or decodes runs with `idleThreads`
 *   intra-op threads (one request alone gets both cores); any other job with one, so a loaded pool keeps one thread per
 *   worker and its full throughput.
 * - Works from compiled JS (dist/…/face.worker.js) and from TypeScript sources (jest/tsx): for a .ts worker a tiny eval'd
 *   bootstrap registers tsx's CommonJS hook first.
 */
export interface WorkerPoolConfig extends WorkerData {
  size: number;
  queueLimit: number;
  /** A job running longer than this terminates its worker (default 30 s). */
  jobTimeoutMs?: number;
  /** V8 old-generation limit per worker (default 768 MB): a runaway job kills its worker, not the service. */
  workerHeapMb?: number;
  /** Called when a worker is replaced (metrics). */
  onWorkerRestart?: (reason: 'crash' | 'timeout') => void;
}

/** A place in the pool, held from before decoding until the job is queued (`run`) or given back (`release`). */
export interface Admission {
  run(img: RawImage, options: AnalyzeOptions): Promise<PoolResult>;
  release(): void;
}

export interface PoolResult {
  faces: FaceAnalysis[];
  timings: StageTimings & { queueMs: number; inferenceMs: number };
}

export interface WorkerPool {
  readonly model: ModelInfo;
  /** Slowest worker's warm-up (ms) at start. */
  readonly warmUpMs: number;
  /** Takes a place or throws OverloadedError at once. */
  admit(): Admission;
  queueDepth(): number;
  close(): Promise<void>;
}

interface Job {
  img: RawImage;
  options: AnalyzeOptions;
  enqueuedAt: number;
  resolve(r: PoolResult): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  job?: Job & { id: number; startedAt: number; timer: NodeJS.Timeout };
  /** Set when the pool terminated the worker because its job overran. */
  timedOut?: boolean;
}

function spawnWorker(data: WorkerData, heapMb: number): Worker {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `face.worker${ext}`);
  const resourceLimits = { maxOldGenerationSizeMb: heapMb };
  if (ext === '.ts') {
    const tsx = require.resolve('tsx/cjs/api');
    const boot = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(file)});`;
    return new Worker(boot, { eval: true, workerData: data, resourceLimits });
  }
  return new Worker(file, { workerData: data, resourceLimits });
}

/** Starts a worker and resolves once its models are loaded and warmed (rejects with the worker's reason otherwise). */
function startWorker(data: WorkerData, heapMb: number): Promise<{ worker: Worker; model: ModelInfo; warmUpMs: number }> {
  return new Promise((resolve, reject) => {
    const worker = spawnWorker(data, heapMb);
    const onExit = (code: number) => reject(new Error(`face worker exited with code ${code} before it was ready`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (m: WorkerMessage) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      if (m.type === 'ready') resolve({ worker, model: m.model, warmUpMs: m.warmUpMs });
      else {
        void worker.terminate();
        reject(new Error(`face worker failed to start: ${m.type === 'fatal' ? m.message : m.type}`));
      }
    });
  });
}

export async function createWorkerPool(cfg: WorkerPoolConfig): Promise<WorkerPool> {
  const data: WorkerData = {
    backend: cfg.backend,
    minDetectionScore: cfg.minDetectionScore,
    modelId: cfg.modelId,
    modelsDir: cfg.modelsDir,
    minFacePx: cfg.minFacePx,
    idleThreads: cfg.idleThreads,
  };
  const size = Math.max(1, cfg.size);
  const heapMb = cfg.workerHeapMb ?? 768;
  const jobTimeoutMs = cfg.jobTimeoutMs ?? 30_000;
  const started = await Promise.allSettled(Array.from({ length: size }, () => startWorker(data, heapMb)));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.worker.terminate() : undefined)));
    throw failed.reason as Error;
  }
  const ok = started.map((s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof startWorker>>>).value);
  const model = ok[0]!.model;
  const slots: Slot[] = [];
  const queue: Job[] = [];
  /** Places admitted but not yet queued (their requests are decoding). */
  let reserved = 0;
  let nextId = 1;
  let closed = false;
  /** Exponential moving average of inference time per job (ms), for Retry-After. */
  let avgJobMs = 1000;

  const dispatch = () => {
    for (const slot of slots) {
      if (slot.job || queue.length === 0) continue;
      const job = queue.shift()!;
      const id = nextId++;
      const timer = setTimeout(() => {
        slot.timedOut = true;
        void slot.worker.terminate();
      }, jobTimeoutMs);
      timer.unref();
      slot.job = { ...job, id, startedAt: performance.now(), timer };
      // Copy into a fresh ArrayBuffer we own (sharp's output may be external memory or a pooled slab) and transfer it.
      const pixels = new Uint8Array(job.img.data.byteLength);
      pixels.set(job.img.data);
      // Alone: no other worker busy, nobody queued or decoding (a decoding request is about to need a worker).
      const alone = queue.length === 0 && reserved === 0 && slots.every((s) => s === slot || !s.job);
      const threads = alone ? Math.max(1, cfg.idleThreads ?? 1) : 1;
      const req: AnalyzeRequest = { id, pixels: pixels.buffer, width: job.img.width, height: job.img.height, options: job.options, threads };
      slot.worker.postMessage(req, [pixels.buffer]);
    }
  };

  const attach = (worker: Worker) => {
    const slot: Slot = { worker };
    slots.push(slot);
    worker.on('message', (m: WorkerMessage) => {
      const job = slot.job;
      if (!job || (m.type !== 'result' && m.type !== 'error') || m.id !== job.id) return;
      slot.job = undefined;
      clearTimeout(job.timer);
      if (m.type === 'result') {
        avgJobMs = 0.8 * avgJobMs + 0.2 * m.inferenceMs;
        job.resolve({ faces: m.faces, timings: { ...m.timings, queueMs: job.startedAt - job.enqueuedAt, inferenceMs: m.inferenceMs } });
      } else {
        job.reject(new AnalysisFailedError(`face analysis failed: ${m.message}`));
      }
      dispatch();
    });
    worker.on('error', () => undefined); // 'exit' follows and does the work
    worker.on('exit', (code) => {
      slots.splice(slots.indexOf(slot), 1);
      if (slot.job) {
        clearTimeout(slot.job.timer);
        slot.job.reject(
          new AnalysisFailedError(
            slot.timedOut
              ? `face analysis took longer than ${jobTimeoutMs} ms and was stopped`
              : `the face analysis worker failed (exit code ${code}) while analysing this image`,
          ),
        );
      }
      if (!closed) {
        cfg.onWorkerRestart?.(slot.timedOut ? 'timeout' : 'crash');
        respawn(0);
      }
    });
  };

  const respawn = (attempt: number) => {
    startWorker(data, heapMb).then(
      ({ worker }) => {
        if (closed) void worker.terminate();
        else {
          attach(worker);
          dispatch();
        }
      },
      () => {
        if (!closed) setTimeout(() => respawn(attempt + 1), Math.min(30_000, 500 * 2 ** attempt)).unref();
      },
    );
  };

  for (const w of ok) attach(w.worker);

  return {
    model,
    warmUpMs: Math.max(...ok.map((w) => w.warmUpMs)),
    admit(): Admission {
      if (closed) throw new Error('face engine is closed');
      const running = slots.filter((s) => s.job).length;
      // Workers being replaced still count as places: their replacement is on its way.
      if (running + queue.length + reserved >= size + cfg.queueLimit) {
        const workers = slots.length || 1;
        const retryAfter = Math.max(1, Math.ceil(((queue.length + reserved + workers) * avgJobMs) / workers / 1000));
        throw new OverloadedError(retryAfter);
      }
      reserved++;
      let held = true;
      const release = () => {
        if (held) reserved--;
        held = false;
      };
      return {
        release,
        run(img, options) {
          release();
          if (closed) return Promise.reject(new Error('face engine is closed'));
          return new Promise<PoolResult>((resolve, reject) => {
            queue.push({ img, options, enqueuedAt: performance.now(), resolve, reject });
            dispatch();
          });
        },
      };
    },
    queueDepth: () => queue.length,
    async close() {
      closed = true;
      for (const j of queue.splice(0)) j.reject(new Error('face engine is closed'));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
