import fs from 'node:fs';
import pino from 'pino';
import type { FaceEngine } from './shared/face.types';
import { loadConfig } from './config';
import { compose } from './compose';
import { createHttpServer } from './platform/http/server';
import { prepareSchema } from './platform/db/migrate';
import { openDb } from './platform/db/open';
import { BOOTSTRAP_RECOVERY } from './modules/key/key.service';
import { createPostgresDb } from './platform/db/postgres.db';

/**
 * The service process (src/main.ts runs it; a test may pass another face engine). Composition root: config → database →
 * migrations under a lock (or, MIGRATE_ON_START=false, the check that they ran) → API keys bootstrap → HTTP(S) listening (so
 * /healthz answers while models load) → face engine load + warm-up → /readyz green.
 * SIGTERM/SIGINT: /readyz 503, then stop accepting, drain, stop background jobs, close (see `stop`).
 */
export async function serve(opts: { engineFactory?: () => Promise<FaceEngine> } = {}) {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { service: 'facematch' } });
  const db = await openDb({ url: config.db.url, poolSize: config.db.poolSize, dataDir: config.dataDir, logger });
  logger.info({ database: db.kind }, 'database connected');
  // The read replica is opened without connecting: one that is down at start must not stop the service (reads use the primary
  // until it answers within its lag bound). An unreachable host fails a connection attempt after 2 s instead of hanging reads.
  const replica = config.db.read
    ? await createPostgresDb(config.db.read.url, config.db.poolSize, { connectNow: false, connectionTimeoutMillis: 2000 })
    : undefined;
  if (config.db.read) logger.info({ maxLagMs: config.db.read.maxLagMs }, 'read replica configured');

  // Migrations (or the check that they were applied) and the key bootstrap come before listening: /v1 never answers on a
  // schema that is not there yet. /healthz then answers while the models load; /readyz turns green after.
  const applied = await prepareSchema(db, { migrate: config.db.migrateOnStart });
  logger.info({ applied }, config.db.migrateOnStart ? 'migrations applied' : 'schema is up to date');

  const system = await compose({ config, db, logger, replica, engineFactory: opts.engineFactory });
  const boot = await system.keys.bootstrap(config.secrets.bootstrapAdminKey);
  if (boot.created && boot.generated) {
    // Printed once, on the first start with an empty key table; only its hash is stored.
    process.stdout.write(
      `\n  FaceMatch: generated the first admin API key (organization "*"). It is shown only this once:\n\n    ${boot.token}\n\n`,
    );
  } else if (boot.created) {
    logger.info('registered FACEMATCH_BOOTSTRAP_ADMIN_KEY as the first admin key');
  } else if (!boot.activeAdmin) {
    logger.warn(BOOTSTRAP_RECOVERY);
  }

  const tls = config.tls ? { cert: fs.readFileSync(config.tls.certFile), key: fs.readFileSync(config.tls.keyFile) } : undefined;
  const server = createHttpServer(system.app, { headersMs: config.http.headersTimeoutMs, requestMs: config.http.requestTimeoutMs, tls });
  await new Promise<void>((resolve) => server.listen(config.http.port, config.http.host, resolve));
  logger.info({ port: config.http.port, host: config.http.host, tls: !!tls }, 'listening');
  // Hit-notice webhooks: one delivery pass a second (a pass in progress is never doubled); failures are logged, never thrown.
  const deliveries = setInterval(() => {
    system.webhookWorker.tick().catch((e: unknown) => logger.warn({ err: e }, 'webhook delivery pass failed'));
  }, 1000);
  deliveries.unref();

  await system.startEngine();
  await system.jobWorker.start();
  void system.startRetentionJob();
  void system.startReverseScreening();
  system.startCheckpointJob();

  // Shutdown, in the order a load balancer in front of several instances needs: /readyz turns 503 at once while requests are
  // still served (SIGTERM: for SHUTDOWN_READINESS_DELAY_MS, so the balancer sees it and routes elsewhere; SIGINT is someone at
  // a terminal, no balancer to wait for); then no new connections, in-flight requests finish (cut after SHUTDOWN_GRACE_MS), the
  // webhook pass in progress records its attempts, the retention run in progress commits, screening items in progress are recorded, the engine stops, the pool closes.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    system.beginDrain();
    clearInterval(deliveries);
    const delayMs = signal === 'SIGTERM' ? config.http.shutdownReadinessDelayMs : 0;
    logger.info({ signal, readinessDelayMs: delayMs }, 'draining: /readyz answers 503');
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const forced = setTimeout(() => {
      logger.warn('drain timed out; closing remaining connections');
      server.closeAllConnections();
    }, config.http.shutdownGraceMs);
    forced.unref();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await system.webhookWorker.drain();
    await system.close();
    await replica?.close();
    await db.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
