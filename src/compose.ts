import type { Logger } from 'pino';
import { buildApp } from './app';
import type { Config } from './config';
import { createAuditService } from './domain/audit.service';
import { dimensionCheckedEngine } from './domain/engine-guard';
import { createKeyService } from './domain/key.service';
import { createOversightService } from './domain/oversight.service';
import { createReportService } from './domain/report';
import { createReviewService } from './domain/review.service';
import type { FaceEngine } from './domain/face.types';
import { NotFoundError, NotReadyError } from './domain/errors';
import { createSearchService } from './domain/search.service';
import { createProbeFaceService } from './domain/probe-face.service';
import { createProbeFaceRepo } from './infra/db/probe-face.repo';
import { createSubjectService } from './domain/subject.service';
import { calibrationDirs, createCalibrationStore } from './infra/calibration.store';
import { createNoticeService } from './domain/notice.service';
import { createWatchlistAccess, createWatchlistService } from './domain/watchlist.service';
import { createWebhookWorker, type RetryPolicy, type WebhookSend } from './domain/webhook.worker';
import { createNoticeRepo } from './infra/db/notice.repo';
import { createWatchlistRepo } from './infra/db/watchlist.repo';
import { createWebhookRepo } from './infra/db/webhook.repo';
import { noticesRouter } from './http/routes/notices.routes';
import { watchlistsRouter } from './http/routes/watchlists.routes';
import { createImageCipher, resolveImageKey } from './infra/crypto/image-cipher';
import { createAnchorRepo } from './infra/db/anchor.repo';
import { createAuditRepo } from './infra/db/audit.repo';
import type { Db, Queryable } from './infra/db/db';
import { createReadRouter, type ReadRouter } from './infra/db/read-replica';
import { createFaceRepo } from './infra/db/face.repo';
import { createKeyRepo } from './infra/db/key.repo';
import { isMigrated } from './infra/db/migrate';
import { createReviewRepo } from './infra/db/review.repo';
import { createSearchRepo } from './infra/db/search.repo';
import { createStatsRepo } from './infra/db/stats.repo';
import { createSubjectRepo } from './infra/db/subject.repo';
import { createMetrics } from './http/metrics';
import { databaseBucketStore, memoryBucketStore } from './http/rate-limit';
import { createRateBucketRepo } from './infra/db/rate-bucket.repo';
import { auditRouter } from './http/routes/audit.routes';
import { oversightRouter } from './http/routes/oversight.routes';
import { reviewsRouter } from './http/routes/reviews.routes';
import { searchesRouter } from './http/routes/searches.routes';
import { subjectsRouter } from './http/routes/subjects.routes';

export interface ComposeOptions {
  config: Config;
  db: Db;
  logger: Logger;
  /** Builds the face engine (loads and warms models). Defaults to the worker-pool engine from infra/face. */
  engineFactory?: () => Promise<FaceEngine>;
  /** Milliseconds clock for the HTTP rate limiters. */
  clock?: () => number;
  /** Webhook delivery: clock, sender and retry policy (tests drive the worker with their own clock and tick()). */
  webhooks?: { clock?: () => Date; send?: WebhookSend; retry?: RetryPolicy };
  /** Built console served at `/` (default dist/console). */
  consoleDir?: string;
  /** Time source for probe-face retention and stored search times (tests move it forward); defaults to the wall clock. */
  now?: () => Date;
  /**
   * A hot standby of `db` (DATABASE_READ_URL), opened without connecting (it may be down at start). Listings, statistics and
   * the auditor's reads use it while it is within `config.db.read.maxLagMs`; closed by whoever opened it.
   */
  replica?: Db;
}

/** The reader of a candidate's enrolled crop on behalf of someone allowed to read the search that proposed it. */
const CANDIDATE_CROP_READER = { keyId: 'service:candidate-crop', roles: ['auditor' as const], organization: '*' };

/** Wires repositories, services and the HTTP app with plain factories. Used by main.ts and by the integration tests. */
export async function compose(opts: ComposeOptions) {
  const { config, db, logger } = opts;
  let engine: FaceEngine | null = null;
  let migrated = false;
  let retentionTimer: NodeJS.Timeout | null = null;
  let retentionRun: Promise<void> | null = null;
  let draining = false;

  const audit = createAuditRepo();
  const faces = createFaceRepo(config.knn);
  const subjectRepo = createSubjectRepo();
  const keyRepo = createKeyRepo();
  const keys = createKeyService({ db, keys: keyRepo, audit });
  const calibration = createCalibrationStore(calibrationDirs(config.face.modelsDir));
  let router: ReadRouter | null = null;
  const metrics = createMetrics({
    queueDepth: () => engine?.queueDepth() ?? 0,
    // A count over the whole gallery on every scrape: replica work.
    galleryTemplates: async () => (migrated ? faces.countTemplates(reads()) : 0),
    replica: opts.replica ? () => router?.status() ?? null : undefined,
  });
  if (opts.replica) {
    router = createReadRouter({
      primary: db,
      replica: opts.replica,
      maxLagMs: config.db.read?.maxLagMs ?? 1000,
      logger,
      onRead: (target) => metrics.dbReads.inc({ target }),
    });
    router.start();
  }
  /** The reader for replica-eligible reads (docs/SCALING.md "Read replicas" has the table); the primary without a replica. */
  const reads = (): Queryable => router?.reader() ?? db;
  /** What the services get: without a replica nothing, so they read exactly as they always have. */
  const replicaReads = router ? reads : undefined;
  const cipher = createImageCipher(
    resolveImageKey({ configured: config.secrets.encryptionKey, embedded: db.kind === 'pglite', dataDir: config.dataDir }),
  );

  const requireEngine = (): FaceEngine => {
    if (!engine) throw new NotReadyError('The face models are still loading; retry shortly.');
    return engine;
  };
  const watchlistRepo = createWatchlistRepo();
  const access = createWatchlistAccess({ watchlists: watchlistRepo });
  const subjects = createSubjectService({ db, subjects: subjectRepo, faces, audit, cipher, engine: requireEngine, enrolMinQuality: config.matching.enrolMinQuality, access, reads: replicaReads });
  const watchlists = createWatchlistService({ db, watchlists: watchlistRepo, audit, access, eraseSubject: (p, id) => subjects.erase(p, id) });
  const noticeRepo = createNoticeRepo();
  const webhookRepo = createWebhookRepo();
  const notices = createNoticeService({ db, notices: noticeRepo, webhooks: webhookRepo, audit, cipher, reads: replicaReads });
  const webhookWorker = createWebhookWorker({ db, webhooks: webhookRepo, cipher, ...opts.webhooks });
  const searchRepo = createSearchRepo();
  const reviewRepo = createReviewRepo();
  const probeFaces = createProbeFaceService({
    db,
    repo: createProbeFaceRepo(),
    audit,
    cipher,
    searches: () => searches,
    // The caller's right to this crop is its right to read the search that proposed the candidate (checked by the probe-face
    // service before it asks); the gallery read itself runs as the service, since a searcher cannot read subjects directly.
    enrolledCrop: (subjectId, faceId) => subjects.faceImage(CANDIDATE_CROP_READER, subjectId, faceId, 'crop'),
    retentionDays: config.retention.probeDays,
    clock: opts.now,
  });
  const searches = createSearchService({
    db,
    faces,
    subjects: subjectRepo,
    searches: searchRepo,
    audit,
    reviews: reviewRepo,
    engine: requireEngine,
    access,
    notices: noticeRepo,
    calibration,
    settings: config.matching,
    onSearch: (mode) => metrics.searches.inc({ mode }),
    storeProbeCrop: probeFaces.store,
    clock: opts.now,
    reads: replicaReads,
  });

  const auditService = createAuditService({ db, audit, anchors: createAnchorRepo(), reads: replicaReads });
  const reviews = createReviewService({ db, searches: searchRepo, reviews: reviewRepo, keys: keyRepo, audit, subjects: subjectRepo });
  const orNull = async (f: () => Promise<{ bytes: Buffer }>) => {
    try {
      return (await f()).bytes;
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  };
  const reports = createReportService({
    db,
    searches,
    audit,
    keys: keyRepo,
    images: {
      probe: (p, id, faceIndex) => orNull(() => probeFaces.image(p, id, faceIndex)),
      candidate: (p, id, faceIndex, rank) => orNull(() => probeFaces.candidateImage(p, id, faceIndex, rank)),
    },
  });
  const oversight = createOversightService({ db, stats: createStatsRepo(), reads: replicaReads });

  const app = buildApp({
    config,
    logger,
    clock: opts.clock,
    // Several instances on one PostgreSQL share their buckets there; PGlite is one process, so memory is the whole truth.
    rateBuckets:
      db.kind === 'postgres' && config.limits.rateStore === 'database'
        ? () => databaseBucketStore(db, createRateBucketRepo(), opts.clock)
        : () => memoryBucketStore(opts.clock),
    draining: () => draining,
    metrics,
    keys,
    consoleDir: opts.consoleDir,
    replica: router ? () => router!.status() : undefined,
    readiness: [
      // Reported, never required: while the replica is down or lagging its reads go to the primary.
      ...(router ? [{ name: 'replica', required: false, check: async () => router!.status().usable }] : []),
      { name: 'database', check: async () => (await db.query('SELECT 1')).rowCount === 1 },
      { name: 'migrations', check: async () => (migrated ||= await isMigrated(db)) },
      { name: 'models', check: async () => engine !== null },
      // False from the start of shutdown: the load balancer takes this instance out while it still serves what it gets.
      { name: 'serving', check: async () => !draining },
    ],
    mountV1(v1, openapi) {
      const uploadBytes = config.limits.uploadBytes;
      v1.use('/watchlists', watchlistsRouter(watchlists, openapi));
      const n = noticesRouter(notices, openapi);
      v1.use('/notifications', n.notifications);
      v1.use('/webhooks', n.webhooks);
      v1.use('/subjects', subjectsRouter({ subjects, uploadBytes }, openapi));
      const s = searchesRouter({ searches, probeFaces, uploadBytes }, openapi);
      v1.use('/searches', s.searches);
      v1.use('/verify', s.verify);
      const rv = reviewsRouter({ reviews, reports }, openapi);
      v1.use('/searches', rv.searches);
      v1.use('/reviews', rv.queue);
      v1.use('/audit', auditRouter(auditService, openapi));
      v1.use('/oversight', oversightRouter(oversight, openapi));
    },
  });

  return {
    app,
    keys,
    audit,
    auditService,
    subjects,
    searches,
    reviews,
    watchlists,
    notices,
    webhookWorker,
    probeFaces,
    metrics,
    /** The read-replica router (null without DATABASE_READ_URL): its status, and check() to measure the lag now. */
    replica: router as ReadRouter | null,
    async startEngine(): Promise<FaceEngine> {
      const factory =
        opts.engineFactory ??
        (async () => {
          const { createFaceEngine, engineConfigFrom } = await import('./infra/face/face-engine');
          return createFaceEngine({
            ...engineConfigFrom(config),
            observe: {
              stage: (stage, seconds) => metrics.inference.observe({ stage }, seconds),
              workerRestart: (reason) => metrics.workerRestarts.inc({ reason }),
              rejected: (reason) => metrics.rejections.inc({ reason }),
            },
          });
        });
      const e = await factory();
      // A model without a calibration table would produce uncalibrated scores: refuse it before turning ready.
      const cal = calibration(e.model.id);
      logger.info(
        { model: e.model, screeningSimilarity: cal.thresholdFor(config.matching.screeningTargetFmr), verifySimilarity: cal.thresholdFor(config.matching.verifyTargetFmr) },
        'face engine ready',
      );
      engine = dimensionCheckedEngine(e);
      return engine;
    },
    /**
     * The probe-face retention job: purges expired crops now and then every `intervalMs` (default hourly). Each run that removes
     * crops is audited (`probe_faces.purged`). Stopped by close(). Resolves when the first run is done (it never rejects).
     */
    startRetentionJob(intervalMs = 3_600_000): Promise<void> {
      const run = async () => {
        try {
          const r = await probeFaces.purgeExpired();
          if (r.crops > 0) logger.info({ cropsRemoved: r.crops, searches: r.searches, before: r.before }, 'probe-face crops purged');
        } catch (e) {
          logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'probe-face purge failed; retried on the next run');
        }
      };
      // A run in progress is remembered so close() can wait for it: its transaction must not lose its pool mid-way.
      const tracked = () => {
        const r = run().finally(() => {
          if (retentionRun === r) retentionRun = null;
        });
        retentionRun = r;
        return r;
      };
      retentionTimer = setInterval(() => void tracked(), intervalMs);
      retentionTimer.unref();
      return tracked();
    },
    /** Shutdown has begun: /readyz answers 503 (check `serving`) and answers close their connections. */
    beginDrain() {
      draining = true;
    },
    /** Stops the retention job (waiting for a run in progress) and the face engine. The database is the caller's to close. */
    async close() {
      if (retentionTimer) clearInterval(retentionTimer);
      retentionTimer = null;
      await retentionRun;
      await engine?.close();
      engine = null;
      await router?.close();
    },
  };
}
