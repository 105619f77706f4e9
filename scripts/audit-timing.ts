/**
 * Measures the audit chain's costs through the real services (figures in docs/BENCHMARKS.md, "Audit chain"): 200 concurrent
 * audited subject creations, 200 concurrent searches with a stand-in engine (one fixed face per image: the database phase, not
 * inference), and `GET /v1/audit/verify` over a 10,000-event chain. On the embedded PGlite and, when BENCH_DATABASE_URL is set
 * (or a local PostgreSQL answers at the default), on PostgreSQL in a scratch database dropped at the end.
 *
 *   npx tsx scripts/audit-timing.ts [--events 10000] [--concurrency 200]
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { compose } from '../src/compose';
import { loadConfig } from '../src/config';
import { createAuditRepo } from '../src/modules/audit/audit.repo';
import { migrate } from '../src/platform/db/migrate';
import { createPgliteDb } from '../src/platform/db/pglite.db';
import { createPostgresDb } from '../src/platform/db/postgres.db';
import { DEFAULT_MODEL_ID, readManifest } from '../src/platform/face/model-manifest';
import type { Db } from '../src/shared/db';
import type { FaceEngine } from '../src/shared/face.types';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const EVENTS = arg('events', 10_000);
const CONCURRENCY = arg('concurrency', 200);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function fixedEngine(): FaceEngine {
  const m = readManifest(DEFAULT_MODEL_ID);
  const embedding = Array.from({ length: m.embeddingSize }, (_, i) => (i === 0 ? 1 : 0));
  return {
    model: { id: m.id, detector: m.detector, embedder: m.embedder, version: m.version, weightsSha256: '0'.repeat(64), dimensions: m.embeddingSize, backend: 'none' },
    analyze: async (image: Buffer) => ({
      sha256: createHash('sha256').update(image).digest('hex'),
      width: 100,
      height: 100,
      faces: [{ box: { x: 10, y: 10, width: 50, height: 50 }, detectionScore: 0.99, quality: { score: 0.9, issues: [], metrics: {} }, embedding }],
    }),
    queueDepth: () => 0,
    close: async () => undefined,
  };
}

const ms = (t0: number) => Math.round(performance.now() - t0);

async function measure(name: string, db: Db) {
  await migrate(db);
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: 'memory://', FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'), RATE_LIMIT_PER_MINUTE: '1000000', RATE_LIMIT_STORE: 'memory' });
  const system = await compose({ config, db, logger: pino({ level: 'silent' }), engineFactory: async () => fixedEngine() });
  await system.startEngine();
  const owner = { keyId: randomUUID(), roles: ['admin' as const], organization: 'bank-a' };
  const searcher = { keyId: randomUUID(), roles: ['searcher' as const], organization: 'bank-a' };
  await system.watchlists.create(owner, { name: 'bench', description: null, jurisdiction: 'EU', legalBasis: 'bench', retentionDays: null });

  let t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, (_, i) =>
      system.subjects.create(owner, { displayName: `S ${i}`, category: 'fraud', watchlist: 'bench', legalBasis: 'bench', externalRef: null, caseRef: null, notes: null, reviewBy: null }),
    ),
  );
  const creations = ms(t0);

  t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, (_, i) => system.searches.search(searcher, Buffer.from(`probe ${i}`), { purpose: 'bench', caseRef: `C-${i}`, mode: 'investigative', topK: 20 })),
  );
  const searches = ms(t0);

  const audit = createAuditRepo();
  const actor = { keyId: '00000000-0000-0000-0000-00000000000a', organization: 'bank-a', roles: ['searcher'] };
  for (let done = (await audit.head(db))?.seq ?? 0; done < EVENTS; ) {
    const batch = Math.min(1000, EVENTS - done);
    await db.transaction(async (tx) => {
      for (let i = 0; i < batch; i++) {
        await audit.append(tx, { type: 'search.run', actor, searchId: null, payload: { purpose: 'load', caseRef: `C-${done + i}`, probeSha256: 'ab'.repeat(32) } });
      }
    });
    done += batch;
  }
  t0 = performance.now();
  const v = await system.auditService.verify({ keyId: randomUUID(), roles: ['auditor'], organization: '*' });
  const verifyWall = ms(t0);
  await system.close();
  const row = { database: name, concurrentCreationsMs: creations, concurrentSearchesMs: searches, verifyEvents: v.events, verifyMs: v.ms, verifyWallMs: verifyWall, ok: v.ok };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

async function main() {
  const lite = await createPgliteDb('memory://');
  await measure('pglite', lite);
  await lite.close();

  const admin = new pg.Client({ connectionString: PG_URL });
  try {
    await admin.connect();
  } catch {
    process.stdout.write(`PostgreSQL at ${PG_URL} does not answer: measured PGlite only\n`);
    return;
  }
  const name = `facematch_audit_timing_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  try {
    const db = await createPostgresDb(url.toString(), 10);
    await db.query('CREATE EXTENSION IF NOT EXISTS vector');
    await measure('postgres', db);
    await db.close();
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
