import type { Logger } from 'pino';
import { buildApp } from './app';
import type { Config } from './config';
import { createAuditService } from './domain/audit.service';
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
import { createCalibrationStore } from './infra/calibration.store';
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
  /** Built console served at `/` (default dist/console). */
  consoleDir?: string;
  /** Time source for retention (tests move it forward); defaults to the wall clock. */
  clock?: () => Date;
}

/** Wires repositories, services and the HTTP app with plain factories. Used by main.ts and by the integration tests. */
export async function compose(opts: ComposeOptions) {
  const { config, db, logger } = opts;
  let engine: FaceEngine | null = null;
  let migrated = false;
  let retentionTimer: NodeJS.Timeout | null = null;

  const audit = createAuditRepo();
  const faces = createFaceRepo();
  const subjectRepo = createSubjectRepo();
  const keyRepo = createKeyRepo();
  const keys = createKeyService({ db, keys: keyRepo, audit });
  const calibration = createCalibrationStore();
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
  const subjects = createSubjectService({ db, subjects: subjectRepo, faces, audit, cipher, engine: requireEngine, enrolMinQuality: config.matching.enrolMinQuality });
  const searchRepo = createSearchRepo();
  const reviewRepo = createReviewRepo();
  const probeFaces = createProbeFaceService({
    db,
    repo: createProbeFaceRepo(),
    audit,
    cipher,
    searches: () => searches,
    enrolledCrop: (subjectId, faceId) => subjects.faceImage(subjectId, faceId, 'crop'),
    retentionDays: config.retention.probeDays,
    clock: opts.clock,
  });
  const searches = createSearchService({
    db,
    faces,
    subjects: subjectRepo,
    searches: searchRepo,
    audit,
    reviews: reviewRepo,
    engine: requireEngine,
    calibration,
    settings: config.matching,
    onSearch: (mode) => metrics.searches.inc({ mode }),
    storeProbeCrop: probeFaces.store,
    clock: opts.clock,
  });

  const auditService = createAuditService({ db, audit, anchors: createAnchorRepo() });
  const reviews = createReviewService({ db, searches: searchRepo, reviews: reviewRepo, keys: keyRepo, audit });
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
    probeFaces,
    metrics,
    async startEngine(): Promise<FaceEngine> {
      const factory =
        opts.engineFactory ??
        (async () => {
          const { createFaceEngine } = await import('./infra/face/face-engine');
          return createFaceEngine({
            backend: config.face.backend,
            workers: config.face.workers,
            queueLimit: config.face.queueLimit,
            maxPixels: config.limits.imagePixels,
            maxBytes: config.limits.uploadBytes,
            minDetectionScore: config.face.minDetectionScore,
            modelId: config.face.model,
          });
        });
      const e = await factory();
      // A model without a calibration table would produce uncalibrated scores: refuse it before turning ready.
      const cal = calibration(e.model.id);
      logger.info(
        { model: e.model, screeningSimilarity: cal.thresholdFor(config.matching.screeningTargetFmr), verifySimilarity: cal.thresholdFor(config.matching.verifyTargetFmr) },
        'face engine ready',
      );
      engine = e;
      return e;
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
