import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { cpuBudget } from './platform/face/cpu-budget';
import { DEFAULT_MODEL_ID } from './platform/face/model-manifest';

/**
 * The only reader of process.env. One schema, parsed once; a bad environment fails fast with every bad key listed.
 * Secrets (bootstrap admin key, encryption key) have no defaults.
 */
const intFrom = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
const numFrom = (def: number, min: number, max: number) => z.coerce.number().min(min).max(max).default(def);
/** A PostgreSQL connection string; the message never repeats the value (it holds a password). */
const postgresUrl = () =>
  z.string().url({
    message: 'not a valid URL: percent-encode reserved characters in the password (/ ? # @ : % and others, e.g. with encodeURIComponent; docs/deploy.md), or use a password of letters and digits',
  });

export const configSchema = z.object({
  /** `production` in the Docker image; `test` only for the test suite (it unlocks test-only settings). */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** TCP port the HTTP(S) server listens on (0: any free port). */
  PORT: intFrom(8080, 0, 65535),
  /** Address the server listens on. */
  HOST: z.string().default('0.0.0.0'),
  /** Unset → the embedded PGlite database under DATA_DIR. */
  DATABASE_URL: postgresUrl().optional(),
  /** PostgreSQL connections per instance (the read replica's pool has as many). */
  DATABASE_POOL_SIZE: intFrom(10, 1, 200),
  /** A PostgreSQL hot standby of DATABASE_URL for read-only work (docs/SCALING.md "Read replicas"); needs DATABASE_URL. */
  DATABASE_READ_URL: postgresUrl().optional(),
  /** Reads go to the primary while the replica's staleness bound exceeds this (or while it is down). */
  DATABASE_READ_MAX_LAG_MS: intFrom(1000, 50, 3_600_000),
  /** false: never change the schema (the role may not); refuse to start while `npm run migrate` has migrations to apply. */
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true'),
  /** Embedded database, its encryption key file and the deployment key; one process at a time (DATA_DIR/facematch.lock). */
  DATA_DIR: z.string().default('./data'),
  /** pino log level; logs never hold images, embeddings or request bodies. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  /** An image upload over this many bytes is refused while it is received (413 PAYLOAD_TOO_LARGE). */
  MAX_UPLOAD_BYTES: intFrom(15 * 1024 * 1024, 1024, 200 * 1024 * 1024),
  /** Decoded width × height above this is refused with IMAGE_TOO_LARGE (a decompression-bomb guard). */
  MAX_IMAGE_PIXELS: intFrom(50_000_000, 10_000, 500_000_000),

  /** TensorFlow.js models only: tfjs-node when installed (`auto`), else WASM; `cpu` is explicit only (about 25× slower). */
  FACE_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** Model id of a models/*.manifest.json: detector, embedder and pipeline. Templates keep it; searches compare like with like. */
  FACE_MODEL: z.string().min(1).default(DEFAULT_MODEL_ID),
  /** Inference worker threads, one model copy each. Default: the CPUs this process may use (affinity and cgroup quota). */
  FACE_WORKERS: z.coerce.number().int().min(1).max(64).default(() => Math.min(64, cpuBudget().cpus)),
  /** Requests allowed to wait for a worker; beyond this the service answers 503 OVERLOADED. */
  FACE_QUEUE_LIMIT: intFrom(16, 0, 10_000),
  /** Detector confidence cut; unset → the model's own (its manifest: 0.7 for UltraFace, 0.5 for face-api's SSD). */
  FACE_MIN_DETECTION_SCORE: z.coerce.number().min(0.05).max(0.99).optional(),
  /** A folder with a deployment's own model manifests, ONNX files and calibration/ tables (docs/models.md, "Bring your own model"). */
  FACE_MODELS_DIR: z.string().min(1).optional(),
  /** Smallest face side in pixels the tiled detection looks for in large photos (ONNX models). */
  FACE_MIN_FACE_PX: intFrom(40, 16, 1000),
  /**
   * Intra-op threads one analysis may use while every other inference worker is idle (ONNX models: detector and embedder).
   * Default: 2 when this process may use 2 CPUs or more, else 1 (off). Under load every analysis runs on one thread.
   */
  FACE_IDLE_THREADS: z.coerce.number().int().min(1).max(8).default(() => Math.min(2, cpuBudget().cpus)),
  /** Larger images are downscaled to this many pixels while decoding (bounds memory per request: 3 bytes a pixel). */
  FACE_MAX_ANALYSIS_PIXELS: intFrom(4096 * 4096, 100_000, 100_000_000),
  /** An image analysis running longer than this stops its worker (422 IMAGE_UNPROCESSABLE); the worker is replaced. */
  FACE_JOB_TIMEOUT_MS: intFrom(30_000, 1_000, 600_000),

  /** The video decoder of POST /v1/searches/video: the ffmpeg executable, by path or looked up on PATH at start. */
  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  /** The ffprobe executable (reads a clip's streams and duration before decoding), by path or looked up on PATH at start. */
  FFPROBE_PATH: z.string().min(1).default('ffprobe'),
  /** A video upload over this many bytes is refused (413 PAYLOAD_TOO_LARGE) while it is received. */
  VIDEO_MAX_BYTES: intFrom(100 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024),
  /** A clip longer than this (ffprobe's duration) is refused with 422 VIDEO_TOO_LONG; decoding never reads past it. */
  VIDEO_MAX_SECONDS: intFrom(300, 1, 3600),
  /** Frame width × height above this is refused with 422 VIDEO_TOO_LARGE (3840×2160 by default). */
  VIDEO_MAX_PIXELS: intFrom(3840 * 2160, 10_000, 100_000_000),
  /** Frames sampled per second of video for face detection (0.25 … 10). */
  VIDEO_SAMPLE_FPS: z.coerce.number().min(0.25).max(10).default(2),
  /** Sampled frames are scaled down to at most this many pixels on their longer side before detection. */
  VIDEO_FRAME_MAX_SIDE: intFrom(1280, 320, 4096),
  /** The decoder processes (ffprobe, then ffmpeg) are killed after this long in all: 422 VIDEO_DECODE_TIMEOUT. */
  VIDEO_DECODE_TIMEOUT_MS: intFrom(120_000, 1_000, 1_800_000),
  /**
   * Besides the VIDEO_SAMPLE_FPS samples, a frame whose scene score (ffmpeg's `select` `scene`: 0 same picture … 1 all new) is
   * above this is sampled too, at most VIDEO_SCENE_MAX_FRAMES of them a clip (0: no scene sampling).
   */
  VIDEO_SCENE_THRESHOLD: numFrom(0.3, 0.01, 1),
  /** Frames sampled at scene changes per clip, at most, besides the fixed samples; 0 turns scene sampling off. */
  VIDEO_SCENE_MAX_FRAMES: intFrom(60, 0, 1000),
  /**
   * Address-space limit (RLIMIT_AS, MiB) of each decoder process, set with util-linux `prlimit` (PRLIMIT_PATH): over it the
   * request answers 422 VIDEO_MEMORY_LIMIT. Debian's ffmpeg maps about 300 MiB of libraries before it reads a byte. 0: no limit.
   */
  VIDEO_DECODE_MEMORY_MB: intFrom(1024, 0, 65_536),
  /** util-linux `prlimit`, which starts each decoder process under VIDEO_DECODE_MEMORY_MB; by path or looked up on PATH at start. */
  PRLIMIT_PATH: z.string().min(1).default('prlimit'),
  /** Where each decode's private temp folder (the upload and its frames, removed afterwards) is made; unset: the OS temp folder. */
  VIDEO_TEMP_DIR: z.string().min(1).optional(),

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
   * Enrolment's hard floor: a face scoring below it is refused with LOW_QUALITY even with acceptQuality=true (no usable face).
   * From it to under ENROL_MIN_QUALITY the enroller may accept the face (stored flagged quality_overruled, audited).
   */
  ENROL_QUALITY_FLOOR: numFrom(0.25, 0, 1),
  /**
   * A photo with several faces is enrolled with its largest face, the others reported (otherFaces), when that face's box area is
   * at least this many times every other face's (docs/ACCURACY.md, "Enrolment gate"); else MULTIPLE_FACES. 0 turns it off.
   */
  ENROL_DOMINANT_RATIO: numFrom(2, 0, 1000),
  /**
   * Candidates whose estimated false-match rate is above this are shown collapsed as "weak leads" in the console's search view
   * and review queue (still listed, still reviewable; the API returns them as before). 1 collapses nothing.
   */
  REVIEW_WEAK_LEAD_FMR: numFrom(1e-3, 1e-7, 1),
  /**
   * A search's or verification's purpose shorter than this (after trimming) is refused with PURPOSE_NOT_ALLOWED. An
   * organization's admin may require more, or list its allowed purposes (PUT /v1/purpose-policy), never less.
   */
  PURPOSE_MIN_LENGTH: intFrom(8, 1, 1000),

  /**
   * HNSW candidate list (pgvector hnsw.ef_search) for kNN searches: the larger of this and the rows a search fetches
   * (5 × topK). Higher: better recall, slower searches. 400 is for galleries up to ~1M templates; 100 reaches recall@10 0.997
   * at 100k (docs/SCALING.md, "Gallery at scale").
   */
  KNN_EF_SEARCH: intFrom(400, 1, 1000),
  /** A search whose scope holds at most this many templates of the model is answered exactly, without the HNSW index. 0: never. */
  KNN_EXACT_SCOPE_MAX: intFrom(20_000, 0, 10_000_000),
  /**
   * true: each search's gallery snapshot (its kNN) runs on the DATABASE_READ_URL replica while it is within its lag bound; the
   * position it held is recorded and candidates are re-checked on the primary, so only enrolments younger than the lag are missed.
   */
  KNN_ON_REPLICA: z.enum(['true', 'false']).default('false'),

  /**
   * Batch screening jobs (docs/batch-screening.md): uploads are streamed to this folder (default DATA_DIR/jobs), one folder per
   * job, each photo removed once its item is searched. Several instances must share it.
   */
  SCREENING_JOB_DIR: z.string().min(1).optional(),
  /** Photos one job may hold; more is 413 PAYLOAD_TOO_LARGE and no job is kept. */
  SCREENING_JOB_MAX_ITEMS: intFrom(10_000, 1, 1_000_000),
  /** Bytes of all of one job's photos together (each photo also at most MAX_UPLOAD_BYTES); more is 413. */
  SCREENING_JOB_MAX_BYTES: intFrom(2 * 1024 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
  /** Bytes of a job's NDJSON or CSV manifest; more is 413. */
  SCREENING_JOB_MANIFEST_MAX_BYTES: intFrom(16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  /** Jobs of one API key that may be queued or running at once; one more is 429 RATE_LIMITED with Retry-After. */
  SCREENING_JOB_MAX_ACTIVE_PER_KEY: intFrom(2, 1, 1000),
  /** Items this instance searches at once (default: FACE_WORKERS). */
  SCREENING_JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * An item taken by an instance is its own this long (database clock); if the instance dies, another takes the item once
   * the lease has run out. Must outlast one item's search (FACE_JOB_TIMEOUT_MS plus the wait for a worker).
   */
  SCREENING_JOB_LEASE_MS: intFrom(120_000, 1_000, 3_600_000),
  /** How often an idle instance looks for pending items (a job submitted to this instance starts at once). */
  SCREENING_JOB_POLL_MS: intFrom(1_000, 10, 60_000),

  /** Probe-face crops are kept this many days after their search, then purged (audited). */
  PROBE_RETENTION_DAYS: intFrom(90, 1, 3650),

  /**
   * Federation with partner deployments (docs/federation.md). The base URL partners reach this deployment at, exactly as they
   * register it: federation is on only when it is set, and a partner's signed request must name it (@target-uri), so a request
   * signed for another deployment is refused here.
   */
  FEDERATION_PUBLIC_URL: z.string().url().optional(),
  /** The name this deployment gives itself at its well-known federation route (partners register it under their own name). */
  FEDERATION_DEPLOYMENT_NAME: z.string().trim().min(1).max(200).default('FaceMatch'),
  /** A signed federation message whose `created` time is further than this from the receiver's clock is refused (expired). */
  FEDERATION_MAX_SKEW_SECONDS: intFrom(120, 1, 3600),
  /** After a partner key is added, the partner's older keys are accepted this much longer, then refused. */
  FEDERATION_KEY_OVERLAP_SECONDS: intFrom(7 * 86_400, 0, 365 * 86_400),
  /** Each partner's whole answer to a federated search must arrive within this; a later one is that partner's `timeout`. */
  FEDERATION_TIMEOUT_MS: intFrom(10_000, 100, 120_000),
  /** Largest federation request body accepted from a partner (413 PAYLOAD_TOO_LARGE above). */
  FEDERATION_MAX_REQUEST_BYTES: intFrom(2 * 1024 * 1024, 16 * 1024, 64 * 1024 * 1024),
  /** Largest answer read from a partner; a longer one is that partner's `refused` (ANSWER_TOO_LARGE). */
  FEDERATION_MAX_ANSWER_BYTES: intFrom(4 * 1024 * 1024, 16 * 1024, 64 * 1024 * 1024),
  /** PEM certificate chain this deployment serves HTTPS with (with TLS_KEY_FILE; both or neither; unset: plain HTTP). */
  TLS_CERT_FILE: z.string().min(1).optional(),
  /** PEM private key of TLS_CERT_FILE. */
  TLS_KEY_FILE: z.string().min(1).optional(),

  /** Requests per minute per API key, one bucket for all instances on one PostgreSQL; beyond → 429 RATE_LIMITED. */
  RATE_LIMIT_PER_MINUTE: intFrom(600, 1, 1_000_000),
  /** Requests without a valid API key, per client address (failed authentications); beyond → 429. */
  RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: intFrom(30, 1, 1_000_000),
  /** `database`: token buckets in PostgreSQL, shared by every instance (PGlite always keeps them in memory); `memory`: per process. */
  RATE_LIMIT_STORE: z.enum(['database', 'memory']).default('database'),
  /** Once the listener is closed at shutdown, in-flight requests get this long to finish; then their connections are cut. */
  SHUTDOWN_GRACE_MS: intFrom(10_000, 0, 600_000),
  /** After SIGTERM, /readyz answers 503 this long while requests are still served, so a load balancer stops routing here first. */
  SHUTDOWN_READINESS_DELAY_MS: intFrom(5_000, 0, 600_000),
  /** A client must send its request headers within this time (408 REQUEST_TIMEOUT). */
  HTTP_HEADERS_TIMEOUT_MS: intFrom(20_000, 1_000, 600_000),
  /** A client must send its whole request, body included, within this time (408 REQUEST_TIMEOUT). */
  HTTP_REQUEST_TIMEOUT_MS: intFrom(120_000, 1_000, 3_600_000),

  /** Registered as an admin key (organization `*`) on a start that finds no API key at all; ignored afterwards. */
  FACEMATCH_BOOTSTRAP_ADMIN_KEY: z.string().min(16).optional(),
  /** 32 bytes, base64. Unset with DATABASE_URL → refuse to start; unset in embedded mode → a key file under DATA_DIR. */
  FACEMATCH_ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  /**
   * The deployment's Ed25519 private key (PKCS#8 PEM file) that signs audit checkpoints and federation messages. Unset → a key
   * generated on first start at DATA_DIR/deployment-key.pem. Never stored in the database.
   */
  DEPLOYMENT_KEY_FILE: z.string().min(1).optional(),

  /**
   * Outbound requests to URLs an organization or operator named (webhooks, partner deployments; src/platform/http/outbound.ts):
   * comma-separated host names (`hooks.corp.example`, `*.corp.example`) or addresses/CIDR ranges (`10.20.0.0/16`) that may
   * be contacted although they resolve to private, loopback or link-local addresses.
   */
  OUTBOUND_ALLOWED_HOSTS: z.string().default(''),
  /** true: plain http URLs are accepted too (https otherwise). */
  OUTBOUND_ALLOW_HTTP: z.enum(['true', 'false']).default('false'),
  /**
   * Signed checkpoints of the audit chain head (docs/OVERSIGHT.md "Checkpoints") are written to this directory, one the
   * database owner cannot write (another volume, a WORM mount), and read back by GET /v1/audit/verify.
   */
  AUDIT_CHECKPOINT_DIR: z.string().min(1).optional(),
  /** A receiver every checkpoint is POSTed to as JSON (through the outbound policy, OUTBOUND_*). */
  AUDIT_CHECKPOINT_URL: z.string().url().optional(),
  /** Partner deployments that countersign each checkpoint: JSON `[{"url": "...", "publicKey": "<PEM, or base64url of the raw Ed25519 key>"}]`. */
  AUDIT_CHECKPOINT_COUNTERSIGNERS: z
    .string()
    .default('[]')
    .transform((v, ctx) => {
      try {
        return z.array(z.object({ url: z.string().url(), publicKey: z.string().min(1) }).strict()).parse(JSON.parse(v));
      } catch {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a JSON array of {"url", "publicKey"}' });
        return z.NEVER;
      }
    }),
  /** A checkpoint is written this often when the chain head moved; 0: only on demand (POST /v1/audit/checkpoints). */
  AUDIT_CHECKPOINT_INTERVAL_MS: intFrom(3_600_000, 0, 7 * 24 * 3_600_000),
  /** Tests only (refused unless NODE_ENV=test): loopback addresses become reachable and every other address is refused. */
  OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: z.enum(['true', 'false']).default('false'),
}).superRefine((e, ctx) => {
  for (const h of e.OUTBOUND_ALLOWED_HOSTS.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!/^(\*\.)?[A-Za-z0-9][A-Za-z0-9.-]*$/.test(h) && !/^\[?[0-9A-Fa-f:.]+\]?(\/\d{1,3})?$/.test(h)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['OUTBOUND_ALLOWED_HOSTS'], message: `"${h}" is neither a host name (or *.domain) nor an address or CIDR range` });
    }
  }
  if (e.OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS === 'true' && e.NODE_ENV !== 'test') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS'], message: 'is for tests only: it needs NODE_ENV=test' });
  }
  if (!e.TLS_CERT_FILE !== !e.TLS_KEY_FILE) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [e.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'], message: 'TLS_CERT_FILE and TLS_KEY_FILE go together' });
  }
  // The embedded PGlite lives in this process and has no standby: a read URL beside it would be a second, unrelated database.
  if (e.DATABASE_READ_URL && !e.DATABASE_URL) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['DATABASE_READ_URL'], message: 'needs DATABASE_URL: read replicas are for PostgreSQL, the embedded PGlite database has none' });
  }
});

export type Env = z.infer<typeof configSchema>;

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
    readonly idleThreads: number;
    readonly maxAnalysisPixels: number;
    readonly jobTimeoutMs: number;
  };
  /** POST /v1/searches/video: the decoder executables and the limits a clip is held to (docs/api.md "Video search"). */
  readonly video: {
    readonly ffmpegPath: string;
    readonly ffprobePath: string;
    readonly maxBytes: number;
    readonly maxSeconds: number;
    readonly maxPixels: number;
    readonly sampleFps: number;
    readonly frameMaxSide: number;
    readonly decodeTimeoutMs: number;
    readonly sceneThreshold: number;
    readonly sceneMaxFrames: number;
    /** Bytes; 0: no limit. */
    readonly decodeMemoryBytes: number;
    readonly prlimitPath: string;
    /** Undefined: os.tmpdir(). */
    readonly tempDir?: string;
  };
  readonly matching: {
    readonly screeningTargetFmr: number;
    readonly verifyTargetFmr: number;
    readonly verifyNearMissFactor: number;
    readonly ambiguityMargin: number;
    readonly probeMinQuality: number;
    readonly enrolMinQuality: number;
    readonly enrolQualityFloor: number;
    readonly enrolDominantRatio: number;
  };
  readonly review: { readonly weakLeadFmr: number };
  readonly purpose: { readonly minLength: number };
  readonly knn: { readonly efSearch: number; readonly exactScopeMax: number; readonly onReplica: boolean };
  readonly retention: { readonly probeDays: number };
  /** Batch screening jobs: where uploads wait, their bounds, the per-key limit and this instance's runner. */
  readonly jobs: {
    readonly dir: string;
    readonly maxItems: number;
    readonly maxBytes: number;
    readonly manifestMaxBytes: number;
    readonly maxActivePerKey: number;
    readonly concurrency: number;
    readonly leaseMs: number;
    readonly pollMs: number;
  };
  readonly federation: {
    readonly publicUrl?: string;
    readonly deploymentName: string;
    readonly maxSkewSeconds: number;
    readonly keyOverlapSeconds: number;
    readonly timeoutMs: number;
    readonly maxRequestBytes: number;
    readonly maxAnswerBytes: number;
  };
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly secrets: { readonly bootstrapAdminKey?: string; readonly encryptionKey?: Buffer; readonly deploymentKeyFile?: string };
  readonly checkpoints: {
    readonly dir?: string;
    readonly url?: string;
    readonly countersigners: ReadonlyArray<{ readonly url: string; readonly publicKey: string }>;
    readonly intervalMs: number;
  };
  /** The destination policy of outbound requests (without its resolver, which compose adds). */
  readonly outbound: { readonly allowHttp: boolean; readonly allowedHosts: readonly string[]; readonly allowLoopbackForTests: boolean };
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
  const parsed = configSchema.safeParse(source);
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
    // `memory://` (an embedded database that lives in this process only) is not a path: kept as given.
    dataDir: e.DATA_DIR.startsWith('memory://') ? e.DATA_DIR : path.resolve(e.DATA_DIR),
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
      idleThreads: e.FACE_IDLE_THREADS,
      maxAnalysisPixels: e.FACE_MAX_ANALYSIS_PIXELS,
      jobTimeoutMs: e.FACE_JOB_TIMEOUT_MS,
    },
    video: {
      ffmpegPath: e.FFMPEG_PATH,
      ffprobePath: e.FFPROBE_PATH,
      maxBytes: e.VIDEO_MAX_BYTES,
      maxSeconds: e.VIDEO_MAX_SECONDS,
      maxPixels: e.VIDEO_MAX_PIXELS,
      sampleFps: e.VIDEO_SAMPLE_FPS,
      frameMaxSide: e.VIDEO_FRAME_MAX_SIDE,
      decodeTimeoutMs: e.VIDEO_DECODE_TIMEOUT_MS,
      sceneThreshold: e.VIDEO_SCENE_THRESHOLD,
      sceneMaxFrames: e.VIDEO_SCENE_MAX_FRAMES,
      decodeMemoryBytes: e.VIDEO_DECODE_MEMORY_MB * 1024 * 1024,
      prlimitPath: e.PRLIMIT_PATH,
      tempDir: e.VIDEO_TEMP_DIR ? path.resolve(e.VIDEO_TEMP_DIR) : undefined,
    },
    matching: {
      screeningTargetFmr: e.SCREENING_TARGET_FMR,
      verifyTargetFmr: e.VERIFY_TARGET_FMR,
      verifyNearMissFactor: e.VERIFY_NEAR_MISS_FACTOR,
      ambiguityMargin: e.AMBIGUITY_MARGIN,
      probeMinQuality: e.PROBE_MIN_QUALITY,
      enrolMinQuality: e.ENROL_MIN_QUALITY,
      enrolQualityFloor: e.ENROL_QUALITY_FLOOR,
      enrolDominantRatio: e.ENROL_DOMINANT_RATIO,
    },
    review: { weakLeadFmr: e.REVIEW_WEAK_LEAD_FMR },
    purpose: { minLength: e.PURPOSE_MIN_LENGTH },
    knn: { efSearch: e.KNN_EF_SEARCH, exactScopeMax: e.KNN_EXACT_SCOPE_MAX, onReplica: e.KNN_ON_REPLICA === 'true' },
    retention: { probeDays: e.PROBE_RETENTION_DAYS },
    jobs: {
      // An in-memory data folder (tests, demos) has no disk: its jobs wait in a folder of this process under the system's temp.
      dir: path.resolve(e.SCREENING_JOB_DIR ?? (e.DATA_DIR.includes('memory:') ? path.join(os.tmpdir(), `facematch-jobs-${process.pid}`) : path.join(e.DATA_DIR, 'jobs'))),
      maxItems: e.SCREENING_JOB_MAX_ITEMS,
      maxBytes: e.SCREENING_JOB_MAX_BYTES,
      manifestMaxBytes: e.SCREENING_JOB_MANIFEST_MAX_BYTES,
      maxActivePerKey: e.SCREENING_JOB_MAX_ACTIVE_PER_KEY,
      concurrency: e.SCREENING_JOB_CONCURRENCY ?? e.FACE_WORKERS,
      leaseMs: e.SCREENING_JOB_LEASE_MS,
      pollMs: e.SCREENING_JOB_POLL_MS,
    },
    federation: {
      publicUrl: e.FEDERATION_PUBLIC_URL,
      deploymentName: e.FEDERATION_DEPLOYMENT_NAME,
      maxSkewSeconds: e.FEDERATION_MAX_SKEW_SECONDS,
      keyOverlapSeconds: e.FEDERATION_KEY_OVERLAP_SECONDS,
      timeoutMs: e.FEDERATION_TIMEOUT_MS,
      maxRequestBytes: e.FEDERATION_MAX_REQUEST_BYTES,
      maxAnswerBytes: e.FEDERATION_MAX_ANSWER_BYTES,
    },
    tls: e.TLS_CERT_FILE && e.TLS_KEY_FILE ? { certFile: path.resolve(e.TLS_CERT_FILE), keyFile: path.resolve(e.TLS_KEY_FILE) } : undefined,
    secrets: {
      bootstrapAdminKey: e.FACEMATCH_BOOTSTRAP_ADMIN_KEY,
      encryptionKey: e.FACEMATCH_ENCRYPTION_KEY ? Buffer.from(e.FACEMATCH_ENCRYPTION_KEY, 'base64') : undefined,
      deploymentKeyFile: e.DEPLOYMENT_KEY_FILE ? path.resolve(e.DEPLOYMENT_KEY_FILE) : undefined,
    },
    checkpoints: {
      dir: e.AUDIT_CHECKPOINT_DIR ? path.resolve(e.AUDIT_CHECKPOINT_DIR) : undefined,
      url: e.AUDIT_CHECKPOINT_URL,
      countersigners: e.AUDIT_CHECKPOINT_COUNTERSIGNERS,
      intervalMs: e.AUDIT_CHECKPOINT_INTERVAL_MS,
    },
    outbound: {
      allowHttp: e.OUTBOUND_ALLOW_HTTP === 'true',
      allowedHosts: e.OUTBOUND_ALLOWED_HOSTS.split(',').map((h) => h.trim()).filter(Boolean),
      allowLoopbackForTests: e.OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS === 'true',
    },
  });
}
