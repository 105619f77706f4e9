import type { Logger } from 'pino';
import { buildApp } from './app';
import type { Config } from './config';
import { createAuditService } from './modules/audit/audit.service';
import { createCheckpointService } from './modules/audit/checkpoint.service';
import { createCheckpointDirectory } from './modules/audit/checkpoint-store';
import { ephemeralDeploymentKey, loadDeploymentKey, parseEd25519PublicKey, type DeploymentKey } from './platform/crypto/deployment-key';
import type { DestinationPolicy, Resolver } from './platform/http/outbound';
import { dimensionCheckedEngine } from './platform/face/engine-guard';
import { createKeyService } from './modules/key/key.service';
import { createOversightService } from './modules/oversight/oversight.service';
import { createReportService } from './modules/oversight/report.service';
import { createReviewService } from './modules/review/review.service';
import type { FaceEngine } from './shared/face.types';
import { NotFoundError, NotReadyError } from './shared/errors';
import { createSearchService } from './modules/search/search.service';
import { createProbeFaceService } from './modules/search/probe-face.service';
import { createProbeFaceRepo } from './modules/search/probe-face.repo';
import { createSubjectService } from './modules/gallery/subject.service';
import { calibrationDirs, createCalibrationStore } from './platform/face/calibration.store';
import { createNoticeService } from './modules/notice/notice.service';
import { createWatchlistAccess, createWatchlistService } from './modules/watchlist/watchlist.service';
import { createWebhookWorker, type RetryPolicy, type WebhookSend } from './modules/notice/webhook.worker';
import { createNoticeRepo } from './modules/notice/notice.repo';
import { createWatchlistRepo } from './modules/watchlist/watchlist.repo';
import { createWebhookRepo } from './modules/notice/webhook.repo';
import { noticesRouter } from './modules/notice/notice.routes';
import { grantsRouter, watchlistsRouter } from './modules/watchlist/watchlist.routes';
import { createImageCipher, resolveImageKey } from './platform/crypto/image-cipher';
import { createAnchorRepo } from './modules/audit/anchor.repo';
import { createAuditRepo } from './modules/audit/audit.repo';
import type { Db, Queryable } from './shared/db';
import { createReadRouter, type ReadRouter } from './platform/db/read-replica';
import { createFaceRepo } from './modules/gallery/face.repo';
import { createKeyRepo } from './modules/key/key.repo';
import { isMigrated } from './platform/db/migrate';
import { createReviewRepo } from './modules/review/review.repo';
import { createSearchRepo } from './modules/search/search.repo';
import { createStatsRepo } from './modules/oversight/stats.repo';
import { createRedactionRepo } from './modules/oversight/redaction.repo';
import { namesSubject } from './modules/oversight/redaction';
import { createSubjectRepo } from './modules/gallery/subject.repo';
import { createMetrics } from './platform/http/metrics';
import { databaseBucketStore, memoryBucketStore } from './platform/http/rate-limit';
import { createRateBucketRepo } from './platform/http/rate-bucket.repo';
import { auditRouter } from './modules/audit/audit.routes';
import { oversightRouter } from './modules/oversight/oversight.routes';
import { reviewsRouter } from './modules/review/review.routes';
import { searchesRouter } from './modules/search/search.routes';
import { subjectsRouter } from './modules/gallery/subject.routes';
import { createSettingsService } from './modules/settings/settings.service';
import { settingsRouter } from './modules/settings/settings.routes';
import { createPurposeRepo } from './modules/purpose/purpose.repo';
import { createPurposeService } from './modules/purpose/purpose.service';
import { purposeRouter } from './modules/purpose/purpose.routes';
import { createFederationRepo } from './modules/federation/federation.repo';
import { createPartnerService, normaliseBaseUrl } from './modules/federation/partner.service';
import { createFederationService } from './modules/federation/federation.service';
import { createAnsweringService } from './modules/federation/answering.service';
import { federationPublicRouter, federationRouter } from './modules/federation/federation.routes';
import { createRateLimiter } from './platform/http/rate-limit';
import { detectDecoder } from './platform/video/decoder';
import { createJobRepo } from './modules/job/job.repo';
import { createJobFiles } from './modules/job/job-files';
import { createJobService } from './modules/job/job.service';
import { createJobWorker } from './modules/job/job.worker';
import { jobsRouter } from './modules/job/job.routes';
import { createReverseRepo } from './modules/reverse/reverse.repo';
import { createReverseService } from './modules/reverse/reverse.service';
import { reverseRouter } from './modules/reverse/reverse.routes';

export interface ComposeOptions {
  config: Config;
  db: Db;
  logger: Logger;
  /** Builds the face engine (loads and warms models). Defaults to the worker-pool engine from platform/face. */
  engineFactory?: () => Promise<FaceEngine>;
  /** Milliseconds clock for the HTTP rate limiters. */
  clock?: () => number;
  /** Webhook delivery: clock, sender and retry policy (tests drive the worker with their own clock and tick()). */
  webhooks?: { clock?: () => Date; send?: WebhookSend; retry?: RetryPolicy; perOrganization?: number; maxInFlight?: number };
  /** The deployment's Ed25519 key (default: DEPLOYMENT_KEY_FILE, or the one under DATA_DIR); tests pass a throwaway one. */
  deploymentKey?: DeploymentKey;
  /** Outbound requests: name resolution and extra trusted CAs (tests: simulated names, a test CA on loopback). */
  outbound?: { resolve?: Resolver; tls?: { ca?: string | Buffer } };
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
  let checkpointTimer: NodeJS.Timeout | null = null;
  let checkpointRun: Promise<void> | null = null;
  let retentionRun: Promise<void> | null = null;
  let reverseTimer: NodeJS.Timeout | null = null;
  let draining = false;

  const audit = createAuditRepo();
  const faces = createFaceRepo(config.knn);
  const subjectRepo = createSubjectRepo();
  const keyRepo = createKeyRepo();
  const keys = createKeyService({ db, keys: keyRepo, audit, clock: opts.now });
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
  const redaction = createRedactionRepo();
  const subjects = createSubjectService({
    db, subjects: subjectRepo, faces, audit, cipher, engine: requireEngine, access, reads: replicaReads,
    enrolRules: { minQuality: config.matching.enrolMinQuality, floorQuality: config.matching.enrolQualityFloor, dominantRatio: config.matching.enrolDominantRatio },
    redact: (tx, s, at) => redaction.redactForSubject(tx, s.id, namesSubject([s.displayName, s.externalRef]), at),
    // Reverse screening (below): queued with each new template, run once the enrolment has committed.
    onEnrolled: { enrolled: (tx, e) => reverse.hook.enrolled(tx, e), committed: () => reverse.hook.committed() },
  });
  const watchlists = createWatchlistService({ db, watchlists: watchlistRepo, audit, access, eraseSubject: (p, id) => subjects.erase(p, id) });
  const noticeRepo = createNoticeRepo();
  const webhookRepo = createWebhookRepo();
  /** Every request to a URL someone named goes through this policy (src/platform/http/outbound.ts). */
  const outboundPolicy: DestinationPolicy = { ...config.outbound, resolve: opts.outbound?.resolve };
  const webhookWorker = createWebhookWorker({ db, webhooks: webhookRepo, cipher, policy: outboundPolicy, tls: opts.outbound?.tls, ...opts.webhooks });
  const notices = createNoticeService({ db, notices: noticeRepo, webhooks: webhookRepo, audit, cipher, reads: replicaReads, policy: outboundPolicy, sendTest: (org) => webhookWorker.sendTest(org) });
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
  const purposes = createPurposeService({ db, repo: createPurposeRepo(), audit, deploymentMinLength: config.purpose.minLength, clock: opts.now });
  // The video decoder is looked for once, at start: without it POST /v1/searches/video answers 501 and nothing else changes.
  const videoDecoder = await detectDecoder({
    ffmpegPath: config.video.ffmpegPath,
    ffprobePath: config.video.ffprobePath,
    prlimitPath: config.video.prlimitPath,
    tempDir: config.video.tempDir,
    limits: {
      maxSeconds: config.video.maxSeconds,
      maxPixels: config.video.maxPixels,
      sampleFps: config.video.sampleFps,
      frameMaxSide: config.video.frameMaxSide,
      timeoutMs: config.video.decodeTimeoutMs,
      sceneThreshold: config.video.sceneThreshold,
      sceneMaxFrames: config.video.sceneMaxFrames,
      memoryBytes: config.video.decodeMemoryBytes,
    },
  });
  if (videoDecoder) logger.info({ decoder: videoDecoder.name }, 'video decoder found: POST /v1/searches/video is available');
  else {
    const prlimitPath = config.video.decodeMemoryBytes > 0 ? config.video.prlimitPath : undefined;
    logger.warn({ ffmpegPath: config.video.ffmpegPath, ffprobePath: config.video.ffprobePath, prlimitPath }, 'no video decoder (ffmpeg/ffprobe, and prlimit while VIDEO_DECODE_MEMORY_MB is set): POST /v1/searches/video answers 501 DECODER_UNAVAILABLE');
  }
  const searches = createSearchService({
    db,
    purposes,
    faces,
    subjects: subjectRepo,
    searches: searchRepo,
    audit,
    reviews: reviewRepo,
    engine: requireEngine,
    access,
    notices,
    calibration,
    settings: config.matching,
    onSearch: (mode) => metrics.searches.inc({ mode }),
    storeProbeCrop: probeFaces.store,
    video: () => videoDecoder,
    clock: opts.now,
    reads: replicaReads,
    // KNN_ON_REPLICA: the gallery snapshot of each search on the replica while it is usable (docs/SCALING.md "Read replicas").
    gallerySnapshot: router && config.knn.onReplica ? (fn) => router!.snapshot(fn) : undefined,
  });

  // Reverse screening on enrolment (docs/sharing.md "Reverse screening"): new subjects of a granted watchlist screened against
  // the receiving organization's customers watchlist, through the same search path.
  const reverse = createReverseService({ db, repo: createReverseRepo(), audit, access, purposes, searches, notices, engine: requireEngine, topK: 5, logger, clock: opts.now });

  // Batch screening jobs (docs/batch-screening.md): each item runs through `searches.search`, the path of POST /v1/searches.
  const jobRepo = createJobRepo();
  const jobFiles = createJobFiles(config.jobs.dir);
  const jobWorker = createJobWorker({ db, repo: jobRepo, files: jobFiles, searches, keys: keyRepo, concurrency: config.jobs.concurrency, leaseMs: config.jobs.leaseMs, pollMs: config.jobs.pollMs, logger });
  const jobs = createJobService({
    db,
    repo: jobRepo,
    files: jobFiles,
    audit,
    searches,
    limits: { maxItems: config.jobs.maxItems, maxActivePerKey: config.jobs.maxActivePerKey, uploadBytes: config.limits.uploadBytes },
    onSubmitted: () => jobWorker.wake(),
    clock: opts.now,
  });

  // One identity signs checkpoints and federation messages. An in-memory data folder (tests, demos) keeps no key file.
  const deploymentKey =
    opts.deploymentKey ??
    (config.dataDir.includes('memory:') && !config.secrets.deploymentKeyFile ? ephemeralDeploymentKey() : loadDeploymentKey({ file: config.secrets.deploymentKeyFile, dataDir: config.dataDir }));
  const checkpoints = createCheckpointService({
    db,
    audit,
    key: deploymentKey,
    publicKey: parseEd25519PublicKey(deploymentKey.publicJwk),
    directory: config.checkpoints.dir ? createCheckpointDirectory(config.checkpoints.dir) : undefined,
    webhookUrl: config.checkpoints.url,
    countersigners: config.checkpoints.countersigners.map((c) => ({ url: c.url, publicKey: parseEd25519PublicKey(c.publicKey) })),
    policy: outboundPolicy,
    clock: opts.now,
    tls: opts.outbound?.tls,
  });
  const auditService = createAuditService({ db, audit, anchors: createAnchorRepo(), reads: replicaReads, checkpoints });
  const reviews = createReviewService({ db, searches: searchRepo, reviews: reviewRepo, keys: keyRepo, audit, subjects: subjectRepo, access });
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
    subjects: subjectRepo,
    scores: {
      screeningTargetFmr: config.matching.screeningTargetFmr,
      verifyTargetFmr: config.matching.verifyTargetFmr,
      probeMinQuality: config.matching.probeMinQuality,
      // A search stored under a model this deployment no longer ships has no table here: its case file states no floor.
      calibrationFloor: (modelId) => {
        try {
          return calibration(modelId).floor;
        } catch {
          return null;
        }
      },
    },
    images: {
      // The case file's own `read.case_file` event covers the images it inlines.
      probe: (p, id, faceIndex) => orNull(() => probeFaces.image(p, id, faceIndex, { audited: false })),
      candidate: (p, id, faceIndex, rank) => orNull(() => probeFaces.candidateImage(p, id, faceIndex, rank, { audited: false })),
    },
  });
  const oversight = createOversightService({ db, stats: createStatsRepo(), reads: replicaReads });
  const settings = createSettingsService({
    matching: config.matching,
    review: config.review,
    model: () => (engine ? { id: engine.model.id, calibrationFloor: calibration(engine.model.id).floor } : null),
    purpose: async (p) => {
      const { minLength, allowed } = await purposes.effective(p);
      return { minLength, allowed };
    },
  });

  // Federation (docs/federation.md): the deployment key signs every federation message; partners reach the signed routes
  // only when FEDERATION_PUBLIC_URL is set.
  const federationRepo = createFederationRepo();
  // Partner URLs pass the operator's destination policy (OUTBOUND_*), like every outbound request.
  const publicUrl = config.federation.publicUrl ? normaliseBaseUrl(config.federation.publicUrl) : undefined;
  const partners = createPartnerService({ db, repo: federationRepo, audit, policy: outboundPolicy, ownKeyId: deploymentKey.keyId, overlapSeconds: config.federation.keyOverlapSeconds, clock: opts.now });
  const federationCore = { db, repo: federationRepo, audit, partners, key: deploymentKey, engine: requireEngine, searches, clock: opts.now };
  const federation = createFederationService({
    ...federationCore,
    grants: watchlists,
    access,
    policy: outboundPolicy,
    timeoutMs: config.federation.timeoutMs,
    maxAnswerBytes: config.federation.maxAnswerBytes,
    maxSkewSeconds: config.federation.maxSkewSeconds,
  });
  const answering = publicUrl
    ? createAnsweringService({
        ...federationCore,
        enrolledCrop: async (subjectId, faceId) => orNull(() => subjects.faceImage(CANDIDATE_CROP_READER, subjectId, faceId, 'crop')),
        publicUrl,
        maxSkewSeconds: config.federation.maxSkewSeconds,
        refusalLimiter: createRateLimiter(config.limits.unauthenticatedPerMinute, memoryBucketStore(opts.clock)),
        logger,
      })
    : null;
  const identity = () => ({
    name: config.federation.deploymentName,
    federation: publicUrl !== undefined,
    publicUrl: publicUrl ?? null,
    algorithm: 'ed25519' as const,
    keyId: deploymentKey.keyId,
    publicKeyPem: deploymentKey.publicKeyPem,
    publicJwk: deploymentKey.publicJwk,
  });

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
    deploymentKey,
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
      v1.use('/grants', grantsRouter(watchlists, openapi));
      v1.use('/grants', reverseRouter(reverse, openapi));
      const n = noticesRouter(notices, openapi);
      v1.use('/notifications', n.notifications);
      v1.use('/webhooks', n.webhooks);
      v1.use('/subjects', subjectsRouter({ subjects, uploadBytes }, openapi));
      const s = searchesRouter({ searches, probeFaces, uploadBytes, videoBytes: config.video.maxBytes, federation }, openapi);
      v1.use('/searches', s.searches);
      v1.use('/verify', s.verify);
      const rv = reviewsRouter({ reviews }, openapi);
      v1.use('/searches', rv.searches);
      v1.use('/reviews', rv.queue);
      v1.use('/audit', auditRouter(auditService, checkpoints, openapi));
      const o = oversightRouter({ oversight, reports }, openapi);
      v1.use('/searches', o.searches);
      v1.use('/oversight', o.oversight);
      v1.use('/settings', settingsRouter(settings, openapi));
      v1.use('/purpose-policy', purposeRouter(purposes, openapi));
      v1.use('/jobs', jobsRouter({ jobs, files: jobFiles, videoBytes: config.video.maxBytes, limits: { fileBytes: uploadBytes, totalBytes: config.jobs.maxBytes, maxItems: config.jobs.maxItems, manifestBytes: config.jobs.manifestMaxBytes } }, openapi));
      v1.use('/federation', federationRouter({ partners, federation, key: deploymentKey, identity }, openapi));
    },
    mountPublic(app, openapi) {
      app.use(federationPublicRouter({ answering, identity, maxRequestBytes: config.federation.maxRequestBytes }, openapi));
    },
  });

  return {
    app,
    keys,
    audit,
    auditService,
    checkpoints,
    deploymentKey,
    subjects,
    searches,
    reviews,
    watchlists,
    notices,
    webhookWorker,
    jobs,
    /** Reverse screening: `drain()` runs every owed screening now (tests, and startReverseScreening). */
    reverse,
    /** The screening job runner: start() after the engine is up (serve.ts); close() stops it. */
    jobWorker,
    probeFaces,
    partners,
    federation,
    metrics,
    /** The read-replica router (null without DATABASE_READ_URL): its status, and check() to measure the lag now. */
    replica: router as ReadRouter | null,
    async startEngine(): Promise<FaceEngine> {
      const factory =
        opts.engineFactory ??
        (async () => {
          const { createFaceEngine, engineConfigFrom } = await import('./platform/face/face-engine');
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
    /**
     * Signed checkpoints every AUDIT_CHECKPOINT_INTERVAL_MS when the chain head moved (nothing when no place is configured or
     * the interval is 0). A refusal (the chain does not verify) or a failing place is logged, never thrown. Stopped by close().
     */
    startCheckpointJob(): void {
      if (!checkpoints.configured || config.checkpoints.intervalMs === 0) return;
      const run = async () => {
        try {
          const r = await checkpoints.checkpoint({ onlyIfNew: true });
          if (r) logger.info({ seq: r.checkpoint.seq, sinks: r.sinks }, 'audit checkpoint written');
        } catch (e) {
          logger.error({ err: e instanceof Error ? e.message : String(e), details: (e as { details?: unknown }).details }, 'audit checkpoint not written');
        }
      };
      checkpointTimer = setInterval(() => {
        checkpointRun ??= run().finally(() => (checkpointRun = null));
      }, config.checkpoints.intervalMs);
      checkpointTimer.unref();
    },
    /**
     * Owed reverse screenings (queued by enrolments whose run did not happen: a crash, a database outage) are run now and then
     * every `intervalMs`; each enrolment also runs its own at once. Start after the engine is up. Stopped by close().
     */
    startReverseScreening(intervalMs = 60_000): Promise<void> {
      reverseTimer = setInterval(() => void reverse.drain(), intervalMs);
      reverseTimer.unref();
      return reverse.drain();
    },
    /** Shutdown has begun: /readyz answers 503 (check `serving`) and answers close their connections. */
    beginDrain() {
      draining = true;
    },
    /** Stops the retention job (waiting for a run in progress) and the face engine. The database is the caller's to close. */
    async close() {
      if (retentionTimer) clearInterval(retentionTimer);
      retentionTimer = null;
      if (checkpointTimer) clearInterval(checkpointTimer);
      checkpointTimer = null;
      if (reverseTimer) clearInterval(reverseTimer);
      reverseTimer = null;
      await checkpointRun;
      await retentionRun;
      await reverse.settled();
      // Items in progress finish (their searches commit) before the engine stops.
      await jobWorker.stop();
      await engine?.close();
      engine = null;
      await router?.close();
    },
  };
}
