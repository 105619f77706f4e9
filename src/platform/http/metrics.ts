import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { routeOf } from './request-context';

/** One registry per app instance (no module-level singletons), exposed on /metrics in Prometheus text format. */
export function createMetrics(
  opts: {
    queueDepth?: () => number;
    galleryTemplates?: () => Promise<number>;
    /** The read replica's routing state, when DATABASE_READ_URL is set (its metrics exist only then). */
    replica?: () => { usable: boolean; lagMs: number | null } | null;
  } = {},
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'facematch_' });
  const requests = new Counter({
    name: 'facematch_http_requests_total',
    help: 'HTTP requests by route template, method and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'facematch_http_request_duration_seconds',
    help: 'HTTP request latency by route template.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const inference = new Histogram({
    name: 'facematch_inference_seconds',
    help: 'Face engine time per image and stage (decode, detect, landmarks, align, embed).',
    labelNames: ['stage'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [registry],
  });
  const workerRestarts = new Counter({
    name: 'facematch_face_worker_restarts_total',
    help: 'Inference workers replaced after a crash, an out-of-memory or an overrunning job.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'facematch_inference_rejections_total',
    help: 'Requests refused by the face engine before decoding (503 OVERLOADED).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const searches = new Counter({
    name: 'facematch_searches_total',
    help: 'Completed searches by mode (investigative, screening, verify).',
    labelNames: ['mode'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'facematch_inference_queue_depth',
    help: 'Requests waiting for a face-engine worker.',
    registers: [registry],
    collect() {
      this.set(opts.queueDepth?.() ?? 0);
    },
  });
  new Gauge({
    name: 'facematch_gallery_templates',
    help: 'Enrolled face templates in the gallery.',
    registers: [registry],
    async collect() {
      if (opts.galleryTemplates) this.set(await opts.galleryTemplates());
    },
  });
  const dbReads = new Counter({
    name: 'facematch_db_reads_total',
    help: 'Read operations that may use the read replica, by where they ran (a fallback from the replica counts once more as primary).',
    labelNames: ['target'] as const,
    registers: [registry],
  });
  if (opts.replica) {
    const replica = opts.replica;
    new Gauge({
      name: 'facematch_db_replica_usable',
      help: '1 while replica-eligible reads go to the read replica; 0 while it is down, lagging or not a standby (reads go to the primary).',
      registers: [registry],
      collect() {
        this.set(replica()?.usable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'facematch_db_replica_lag_seconds',
      help: 'Upper bound on the read replica\'s staleness, measured against the primary\'s WAL position; NaN while unknown.',
      registers: [registry],
      collect() {
        const lag = replica()?.lagMs;
        this.set(lag === null || lag === undefined ? Number.NaN : lag / 1000);
      },
    });
  }

  return {
    registry,
    dbReads,
    inference,
    workerRestarts,
    rejections,
    searches,
    middleware(req: Request, res: Response, next: NextFunction) {
      const end = latency.startTimer();
      res.on('finish', () => {
        const route = routeOf(req);
        requests.inc({ method: req.method, route, status: String(res.statusCode) });
        end({ method: req.method, route });
      });
      next();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
