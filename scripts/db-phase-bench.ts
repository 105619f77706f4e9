/**
 * Whole-deployment searches per second of the database phase alone (issue 22; figures in docs/SCALING.md, "The serial phase
 * of a search"): 1:N searches through the real search service (`searches.search`: purpose check, scope, snapshot, kNN, audit
 * append, stored result) with a stand-in engine that hands back precomputed 512-d templates, so no inference runs; with 1, 2
 * and 4 concurrent clients on one PostgreSQL gallery of --gallery templates (one per subject, one watchlist: every search is
 * a whole-gallery HNSW kNN at the configured ef_search).
 *
 *   npx tsx scripts/db-phase-bench.ts --gallery 100000 --keep              # builds a scratch database, prints its name
 *   npx tsx scripts/db-phase-bench.ts --reuse facematch_dbphase_… [--clients 1,2,4] [--seconds 20] [--drop]
 *
 * "Before" figures: run this same file from a checkout of the commit before the change (it uses only APIs both have) with
 * --reuse on the same database, so both orderings search the same gallery. Templates are seeded random vectors generated in
 * the database (not LFW-like: the kNN statement and index are the service's own, recall is not what this measures). The
 * database is BENCH_DATABASE_URL's server (default the local one); the scratch database is dropped unless --keep.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { compose } from '../src/compose';
import { loadConfig } from '../src/config';
import { migrate } from '../src/platform/db/migrate';
import { createPostgresDb } from '../src/platform/db/postgres.db';
import { DEFAULT_MODEL_ID, readManifest } from '../src/platform/face/model-manifest';
import type { FaceEngine } from '../src/shared/face.types';

const { values: args } = parseArgs({
  options: {
    gallery: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '1,2,4' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '200' },
    reuse: { type: 'string' },
    keep: { type: 'boolean', default: false },
    drop: { type: 'boolean', default: false },
    'maintenance-work-mem': { type: 'string', default: '2GB' },
    label: { type: 'string', default: '' },
  },
});
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(args.gallery);
const log = (s: string) => process.stderr.write(`db-phase-bench: ${s}\n`);
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const urlOf = (name: string) => Object.assign(new URL(SERVER), { pathname: `/${name}` }).toString();

/** The stand-in engine: the default model's identity and dimensions, a probe template drawn from a fixed pool per image. */
function precomputedEngine(): FaceEngine {
  const m = readManifest(DEFAULT_MODEL_ID);
  let s = 0x9e3779b9;
  const rnd = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32) - 0.5;
  const pool = Array.from({ length: 512 }, () => Array.from({ length: m.embeddingSize }, rnd));
  return {
    model: { id: m.id, detector: m.detector, embedder: m.embedder, version: m.version, weightsSha256: '0'.repeat(64), dimensions: m.embeddingSize, backend: 'none' },
    analyze: async (image: Buffer) => ({
      sha256: randomBytes(32).toString('hex'),
      width: 100,
      height: 100,
      faces: [{ box: { x: 10, y: 10, width: 50, height: 50 }, detectionScore: 0.99, quality: { score: 0.9, issues: [], metrics: {} }, embedding: pool[image.readUInt32BE(0) % pool.length]! }],
    }),
    queueDepth: () => 0,
    close: async () => undefined,
  };
}

/** A scratch database with every migration and N random templates, the HNSW index rebuilt once after the load. */
async function build(): Promise<string> {
  const name = `facematch_dbphase_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const db = await createPostgresDb(urlOf(name), 2);
  try {
    await migrate(db);
    const wl = randomUUID();
    await db.query(`INSERT INTO watchlist (id, organization, name, jurisdiction, legal_basis) VALUES ($1, 'fiu', 'gallery', 'n/a', 'bench')`, [wl]);
    const indexDef = (await db.query<{ d: string }>("SELECT pg_get_indexdef('face_embedding_512_hnsw'::regclass) AS d")).rows[0]!.d;
    await db.exec('DROP INDEX face_embedding_512_hnsw');
    const t0 = performance.now();
    for (let i = 0; i < N; i += 10_000) {
      // Random templates made in the database (the correlated WHERE makes the array per row); one face per subject.
      await db.query(
        `WITH s AS (
           INSERT INTO subject (id, display_name, category, watchlist_id, legal_basis, organization)
           SELECT gen_random_uuid(), 'synthetic', 'other', $1, 'bench', 'fiu' FROM generate_series(1, $2) RETURNING id)
         INSERT INTO face (id, subject_id, model_id, embedding, quality, box)
         SELECT gen_random_uuid(), s.id, $3,
                (SELECT array_agg(random() - 0.5)::real[] FROM generate_series(1, $4) WHERE s.id IS NOT NULL)::vector, '{}', '{}'
           FROM s`,
        [wl, Math.min(10_000, N - i), DEFAULT_MODEL_ID, readManifest(DEFAULT_MODEL_ID).embeddingSize],
      );
      log(`loaded ${Math.min(N, i + 10_000)} templates (${Math.round((performance.now() - t0) / 1000)} s)`);
    }
    const t1 = performance.now();
    await db.session(async (c) => {
      await c.query("SELECT set_config('maintenance_work_mem', $1, false), set_config('max_parallel_maintenance_workers', '2', false)", [args['maintenance-work-mem']!]);
      await c.exec(indexDef);
    });
    log(`HNSW index rebuilt in ${Math.round((performance.now() - t1) / 1000)} s: ${indexDef}`);
    await db.exec('VACUUM ANALYZE face');
    await db.exec('VACUUM ANALYZE subject');
  } finally {
    await db.close();
  }
  return name;
}

async function main() {
  const name = args.reuse ?? (await build());
  const db = await createPostgresDb(urlOf(name), 10);
  const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', DATA_DIR: 'memory://', FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'), RATE_LIMIT_STORE: 'memory', PURPOSE_MIN_LENGTH: '1', DATABASE_URL: urlOf(name) });
  const system = await compose({ config, db, logger: pino({ level: 'silent' }), engineFactory: async () => precomputedEngine() });
  await system.startEngine();
  const searcher = { keyId: randomUUID(), roles: ['searcher' as const], organization: 'fiu' };
  const templates = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM face')).rows[0]!.n;
  let k = 0;
  const one = async () => {
    const probe = Buffer.alloc(4);
    probe.writeUInt32BE(k++ >>> 0);
    const t = performance.now();
    await system.searches.search(searcher, probe, { purpose: 'bench', caseRef: 'DB-PHASE', mode: 'investigative', topK: 10 });
    return performance.now() - t;
  };
  log(`database ${name}, ${templates} templates; warm-up ${args.warmup} searches (load ${load()})`);
  for (let i = 0; i < Number(args.warmup); i++) await one();

  const rows: Array<Record<string, unknown>> = [];
  for (const clients of args.clients!.split(',').map(Number)) {
    const before = load();
    const lat: number[] = [];
    const end = performance.now() + Number(args.seconds) * 1000;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() < end) lat.push(await one());
    }));
    const wall = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    const row = { label: args.label, templates, clients, searches: lat.length, perSecond: Number((lat.length / wall).toFixed(1)), p50ms: Number(lat[Math.floor(lat.length / 2)]!.toFixed(1)), p95ms: Number(lat[Math.floor(lat.length * 0.95)]!.toFixed(1)), loadBefore: before, loadAfter: load() };
    rows.push(row);
    log(JSON.stringify(row));
  }
  process.stdout.write(`${JSON.stringify({ database: name, host: { cpus: os.cpus().length }, rows }, null, 2)}\n`);
  await system.close?.();
  await db.close();
  if (args.drop || (!args.reuse && !args.keep)) {
    const admin = new pg.Client({ connectionString: SERVER });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    log(`dropped ${name}`);
  } else log(`kept ${name} (reuse with --reuse ${name}; drop with --drop)`);
}

main().catch((e) => {
  process.stderr.write(`db-phase-bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
