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
import type { Db } from './infra/db/db';
import { createFaceRepo } from './infra/db/face.repo';
import { createKeyRepo } from './infra/db/key.repo';
import { isMigrated } from './infra/db/migrate';
import { createReviewRepo } from './infra/db/review.repo';
import { createSearchRepo } from './infra/db/search.repo';
import { createStatsRepo } from './infra/db/stats.repo';
import { createSubjectRepo } from './infra/db/subject.repo';
import { createMetrics } from './http/metrics';
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
}

/** The reader of a candidate's enrolled crop on behalf of someone allowed to read the search that proposed it. */
const CANDIDATE_CROP_READER = { keyId: 'service:candidate-crop', roles: ['auditor' as const], organization: '*' };

/** Wires repositories, services and the HTTP app with plain factories. Used by main.ts and by the integration tests. */
export async function compose(opts: ComposeOptions) {
  const { config, db, logger } = opts;
  let engine: FaceEngine | null = null;
  let migrated = false;
  let retentionTimer: NodeJS.Timeout | null = null;

  const audit = createAuditRepo();
  const faces = createFaceRepo(config.knn);
  const subjectRepo = createSubjectRepo();
  const keyRepo = createKeyRepo();
  const keys = createKeyService({ db, keys: keyRepo, audit });
  const calibration = createCalibrationStore(calibrationDirs(config.face.modelsDir));
  const metrics = createMetrics({
    queueDepth: () => engine?.queueDepth() ?? 0,
    galleryTemplates: async () => (migrated ? faces.countTemplates(db) : 0),
  });
  const cipher = createImageCipher(
    resolveImageKey({ configured: config.secrets.encryptionKey, embedded: db.kind === 'pglite', dataDir: config.dataDir }),
  );

  const requireEngine = (): FaceEngine => {
    if (!engine) throw new NotReadyError('The face models are still loading; retry shortly.');
    return engine;
  };
  const watchlistRepo = createWatchlistRepo();
  const access = createWatchlistAccess({ watchlists: watchlistRepo });
  const subjects = createSubjectService({ db, subjects: subjectRepo, faces, audit, cipher, engine: requireEngine, enrolMinQuality: config.matching.enrolMinQuality, access });
  const watchlists = createWatchlistService({ db, watchlists: watchlistRepo, audit, access, eraseSubject: (p, id) => subjects.erase(p, id) });
  const noticeRepo = createNoticeRepo();
  const webhookRepo = createWebhookRepo();
  const notices = createNoticeService({ db, notices: noticeRepo, webhooks: webhookRepo, audit, cipher });
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
  });

  const auditService = createAuditService({ db, audit, anchors: createAnchorRepo() });
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
  const oversight = createOversightService({ db, stats: createStatsRepo() });

  const app = buildApp({
    config,
    logger,
    clock: opts.clock,
    metrics,
    keys,
    consoleDir: opts.consoleDir,
    readiness: [
      { name: 'database', check: async () => (await db.query('SELECT 1')).rowCount === 1 },
      { name: 'migrations', check: async () => (migrated ||= await isMigrated(db)) },
      { name: 'models', check: async () => engine !== null },
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
      retentionTimer = setInterval(() => void run(), intervalMs);
      retentionTimer.unref();
      return run();
    },
    async close() {
      if (retentionTimer) clearInterval(retentionTimer);
      retentionTimer = null;
      await engine?.close();
      engine = null;
    },
  };
}
