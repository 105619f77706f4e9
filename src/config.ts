import path from 'node:path';
import { z } from 'zod';
import { cpuBudget } from './infra/cpu-budget';
import { DEFAULT_MODEL_ID } from './infra/face/model-manifest';

/**
 * The only reader of process.env. One schema, parsed once; a bad environment fails fast with every bad key listed.
 * Secrets (bootstrap admin key, encryption key) have no defaults.
 */
const intFrom = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
const numFrom = (def: number, min: number, max: number) => z.coerce.number().min(min).max(max).default(def);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: intFrom(8080, 0, 65535),
  HOST: z.string().default('0.0.0.0'),
  /** Unset → the embedded PGlite database under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_SIZE: intFrom(10, 1, 200),
  /** A PostgreSQL hot standby of DATABASE_URL for read-only work (docs/SCALING.md "Read replicas"); needs DATABASE_URL. */
  DATABASE_READ_URL: z.string().url().optional(),
  /** Reads go to the primary while the replica's staleness bound exceeds this (or while it is down). */
  DATABASE_READ_MAX_LAG_MS: intFrom(1000, 50, 3_600_000),
  /** false: never change the schema (the role may not); refuse to start while `npm run migrate` has migrations to apply. */
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true'),
  DATA_DIR: z.string().default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  MAX_UPLOAD_BYTES: intFrom(15 * 1024 * 1024, 1024, 200 * 1024 * 1024),
  /** Decoded width × height above this is refused with IMAGE_TOO_LARGE (a decompression-bomb guard). */
  MAX_IMAGE_PIXELS: intFrom(50_000_000, 10_000, 500_000_000),

  FACE_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** Model id of a models/*.manifest.json: detector, embedder and pipeline. Templates keep it; searches compare like with like. */
  FACE_MODEL: z.string().min(1).default(DEFAULT_MODEL_ID),
  /** Inference worker threads, one model copy each. Default: the CPUs this process may use (affinity and cgroup quota). */
  FACE_WORKERS: z.coerce.number().int().min(1).max(64).default(() => Math.min(64, cpuBudget().cpus)),
  /** Requests allowed to wait for a worker; beyond this the service answers 503 OVERLOADED. */
  FACE_QUEUE_LIMIT: intFrom(16, 0, 10_000),
  /** Detector confidence cut; unset → the model's own (its manifest: 0.7 for UltraFace, 0.5 for face-api's SSD). */
  FACE_MIN_DETECTION_SCORE: z.coerce.number().min(0.05).max(0.99).optional(),
  /** A folder with a deployment's own model manifests, ONNX files and calibration/ tables (README, "Bring your own model"). */
  FACE_MODELS_DIR: z.string().min(1).optional(),
  /** Smallest face side in pixels the tiled detection looks for in large photos (ONNX models). */
  FACE_MIN_FACE_PX: intFrom(40, 16, 1000),
  /** Larger images are downscaled to this many pixels while decoding (bounds memory per request: 3 bytes a pixel). */
  FACE_MAX_ANALYSIS_PIXELS: intFrom(4096 * 4096, 100_000, 100_000_000),
  /** An image analysis running longer than this stops its worker (422 IMAGE_UNPROCESSABLE); the worker is replaced. */
  FACE_JOB_TIMEOUT_MS: intFrom(30_000, 1_000, 600_000),

  /** Screening threshold stated as a target false-match rate, converted through the model's calibration table. */
  SCREENING_TARGET_FMR: numFrom(1e-4, 1e-7, 0.5),
  /** 1:1 verification threshold, likewise a target false-match rate. */
  VERIFY_TARGET_FMR: numFrom(1e-4, 1e-7, 0.5),
  /**
   * 1:1 near-miss band: a score below the verify threshold but at or above the similarity whose calibrated false-match rate is
   * this many times VERIFY_TARGET_FMR is flagged NEAR_MISS for human review. 1 turns the band off.
   */
  VERIFY_NEAR_MISS_FACTOR: numFrom(10, 1, 10_000),
  /** Two candidates whose similarities differ by less than this are flagged AMBIGUOUS_TOP_CANDIDATES. */
  AMBIGUITY_MARGIN: numFrom(0.02, 0, 1),
  /** Probe faces scoring below this quality are flagged LOW_PROBE_QUALITY. */
  PROBE_MIN_QUALITY: numFrom(0.5, 0, 1),
  /** Enrolment refuses faces below this quality with LOW_QUALITY. */
  ENROL_MIN_QUALITY: numFrom(0.5, 0, 1),

  /**
   * HNSW candidate list (pgvector hnsw.ef_search) for kNN searches: the larger of this and the rows a search fetches
   * (5 × topK). Higher: better recall, slower searches. 400 is for galleries up to ~1M templates; 100 reaches recall@10 0.997
   * at 100k (docs/SCALING.md, "Gallery at scale").
   */
  KNN_EF_SEARCH: intFrom(400, 1, 1000),
  /** A search whose scope holds at most this many templates of the model is answered exactly, without the HNSW index. 0: never. */
  KNN_EXACT_SCOPE_MAX: intFrom(20_000, 0, 10_000_000),

  /** Probe-face crops are kept this many days after their search, then purged (audited). */
  PROBE_RETENTION_DAYS: intFrom(90, 1, 3650),

  RATE_LIMIT_PER_MINUTE: intFrom(600, 1, 1_000_000),
  /** Requests without a valid API key, per client address (failed authentications); beyond → 429. */
  RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: intFrom(30, 1, 1_000_000),
  /** `database`: token buckets in PostgreSQL, shared by every instance (PGlite always keeps them in memory); `memory`: per process. */
  RATE_LIMIT_STORE: z.enum(['database', 'memory']).default('database'),
  SHUTDOWN_GRACE_MS: intFrom(10_000, 0, 600_000),
  /** After SIGTERM, /readyz answers 503 this long while requests are still served, so a load balancer stops routing here first. */
  SHUTDOWN_READINESS_DELAY_MS: intFrom(5_000, 0, 600_000),
  /** A client must send its request headers within this time, and its whole request (body included) within the next. */
  HTTP_HEADERS_TIMEOUT_MS: intFrom(20_000, 1_000, 600_000),
  HTTP_REQUEST_TIMEOUT_MS: intFrom(120_000, 1_000, 3_600_000),

  FACEMATCH_BOOTSTRAP_ADMIN_KEY: z.string().min(16).optional(),
  /** 32 bytes, base64. Unset with DATABASE_URL → refuse to start; unset in embedded mode → a key file under DATA_DIR. */
  FACEMATCH_ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
}).superRefine((e, ctx) => {
  // The embedded PGlite lives in this process and has no standby: a read URL beside it would be a second, unrelated database.
  if (e.DATABASE_READ_URL && !e.DATABASE_URL) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['DATABASE_READ_URL'], message: 'needs DATABASE_URL: read replicas are for PostgreSQL, the embedded PGlite database has none' });
  }
});

export type Env = z.infer<typeof schema>;

export interface Config {
  readonly env: Env['NODE_ENV'];
  readonly http: {
    readonly port: number;
    readonly host: string;
    readonly shutdownGraceMs: number;
    readonly shutdownReadinessDelayMs: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
  };
  readonly db: {
    readonly url?: string;
    readonly poolSize: number;
    readonly migrateOnStart: boolean;
    /** A hot standby for read-only work, and the staleness beyond which reads go back to the primary. */
    readonly read?: { readonly url: string; readonly maxLagMs: number };
  };
  readonly dataDir: string;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly limits: {
    readonly uploadBytes: number;
    readonly imagePixels: number;
    readonly ratePerMinute: number;
    readonly unauthenticatedPerMinute: number;
    readonly rateStore: Env['RATE_LIMIT_STORE'];
  };
  readonly face: {
    readonly backend: Env['FACE_BACKEND'];
    readonly model: string;
    readonly workers: number;
    readonly queueLimit: number;
    readonly minDetectionScore?: number;
    readonly modelsDir?: string;
    readonly minFacePx: number;
    readonly maxAnalysisPixels: number;
    readonly jobTimeoutMs: number;
  };
  readonly matching: {
    readonly screeningTargetFmr: number;
    readonly verifyTargetFmr: number;
    readonly verifyNearMissFactor: number;
    readonly ambiguityMargin: number;
    readonly probeMinQuality: number;
    readonly enrolMinQuality: number;
  };
  readonly knn: { readonly efSearch: number; readonly exactScopeMax: number };
  readonly retention: { readonly probeDays: number };
  readonly secrets: { readonly bootstrapAdminKey?: string; readonly encryptionKey?: Buffer };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  return deepFreeze({
    env: e.NODE_ENV,
    http: {
      port: e.PORT,
      host: e.HOST,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      shutdownReadinessDelayMs: e.SHUTDOWN_READINESS_DELAY_MS,
      headersTimeoutMs: Math.min(e.HTTP_HEADERS_TIMEOUT_MS, e.HTTP_REQUEST_TIMEOUT_MS),
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    },
    db: {
      url: e.DATABASE_URL,
      poolSize: e.DATABASE_POOL_SIZE,
      migrateOnStart: e.MIGRATE_ON_START === 'true',
      read: e.DATABASE_READ_URL ? { url: e.DATABASE_READ_URL, maxLagMs: e.DATABASE_READ_MAX_LAG_MS } : undefined,
    },
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    limits: { uploadBytes: e.MAX_UPLOAD_BYTES, imagePixels: e.MAX_IMAGE_PIXELS, ratePerMinute: e.RATE_LIMIT_PER_MINUTE, unauthenticatedPerMinute: e.RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE, rateStore: e.RATE_LIMIT_STORE },
    face: {
      backend: e.FACE_BACKEND,
      model: e.FACE_MODEL,
      workers: e.FACE_WORKERS,
      queueLimit: e.FACE_QUEUE_LIMIT,
      minDetectionScore: e.FACE_MIN_DETECTION_SCORE,
      modelsDir: e.FACE_MODELS_DIR ? path.resolve(e.FACE_MODELS_DIR) : undefined,
      minFacePx: e.FACE_MIN_FACE_PX,
      maxAnalysisPixels: e.FACE_MAX_ANALYSIS_PIXELS,
      jobTimeoutMs: e.FACE_JOB_TIMEOUT_MS,
    },
    matching: {
      screeningTargetFmr: e.SCREENING_TARGET_FMR,
      verifyTargetFmr: e.VERIFY_TARGET_FMR,
      verifyNearMissFactor: e.VERIFY_NEAR_MISS_FACTOR,
      ambiguityMargin: e.AMBIGUITY_MARGIN,
      probeMinQuality: e.PROBE_MIN_QUALITY,
      enrolMinQuality: e.ENROL_MIN_QUALITY,
    },
    knn: { efSearch: e.KNN_EF_SEARCH, exactScopeMax: e.KNN_EXACT_SCOPE_MAX },
    retention: { probeDays: e.PROBE_RETENTION_DAYS },
    secrets: {
      bootstrapAdminKey: e.FACEMATCH_BOOTSTRAP_ADMIN_KEY,
      encryptionKey: e.FACEMATCH_ENCRYPTION_KEY ? Buffer.from(e.FACEMATCH_ENCRYPTION_KEY, 'base64') : undefined,
    },
  });
}
