import { parentPort, workerData } from 'node:worker_threads';
import type { FaceAnalysis } from './analysis.types';
import { createFaceAnalyzer } from './runtime';
import type { AnalyzeRequest, WorkerData, WorkerMessage } from './worker-protocol';

/**
 * One inference worker: its own runtime (ONNX Runtime sessions or a tfjs backend) and models (loaded, verified and warmed before it reports ready), then analyses
 * raw RGB images one at a time as the pool sends them. Errors become messages; the pool turns them into AppErrors or 500s.
 */
const port = parentPort!;
const data = workerData as WorkerData;
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

createFaceAnalyzer(data).then(
  (analyzer) => {
    post({ type: 'ready', model: analyzer.model, warmUpMs: analyzer.warmUpMs });
    port.on('message', async (req: AnalyzeRequest) => {
      const started = performance.now();
      try {
        const { faces, timings } = await analyzer.analyze({ data: new Uint8Array(req.pixels), width: req.width, height: req.height }, req.options, { threads: req.threads });
        const transfer = faces.flatMap((f: FaceAnalysis) => (f.crop ? [f.crop.data.buffer as ArrayBuffer] : []));
        post({ type: 'result', id: req.id, faces, timings, inferenceMs: performance.now() - started, numTensors: analyzer.numTensors() }, transfer);
      } catch (e) {
        post({ type: 'error', id: req.id, message: (e as Error).message ?? String(e) });
      }
    });
  },
  (e: Error) => post({ type: 'fatal', message: e.message ?? String(e) }),
);
