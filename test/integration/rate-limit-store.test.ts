import pg from 'pg';
import request from 'supertest';
import { databaseBucketStore, memoryBucketStore, createRateLimiter } from '../../src/platform/http/rate-limit';
import { migrate } from '../../src/platform/db/migrate';
import { createPostgresDb } from '../../src/platform/db/postgres.db';
import { createRateBucketRepo } from '../../src/platform/http/rate-bucket.repo';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { fixedFaceEngine } from '../helpers/fake-engine';

/**
 * The database token-bucket store (table rate_bucket) against the in-memory one: the same decisions to the last bit of the
 * token count, on both backends (the SQL runs on PGlite too, though PGlite keeps its buckets in memory); on PostgreSQL, the
 * bucket is one across pools (instances), and an unreachable database answers 503.
 */
describe.each(backends())('rate-limit bucket store on $name', (backend) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await backend.open();
    await migrate(t.db);
  });
  afterAll(() => t.drop());

  it('decides exactly as the in-memory store over a long irregular sequence (refills, bursts, several rates and keys)', async () => {
    let now = 1_700_000_000_000;
    const memory = createRateLimiter(7, memoryBucketStore(() => now));
    const database = createRateLimiter(7, databaseBucketStore(t.db, createRateBucketRepo(), () => now));
    const memory60 = createRateLimiter(60, memoryBucketStore(() => now));
    const database60 = createRateLimiter(60, databaseBucketStore(t.db, createRateBucketRepo(), () => now));
    // A deterministic mix of gaps: none (bursts), sub-token gaps of odd milliseconds, a few over a minute.
    let seed = 12345;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const seen = { allowed: 0, refused: 0 };
    for (let i = 0; i < 400; i++) {
      const r = next() % 100;
      now += r < 70 ? 0 : r < 97 ? next() % 3_001 : 61_000 + (next() % 5_000);
      const key = `key:${next() % 2}`;
      const [lim, dbLim] = i % 2 ? [memory, database] : [memory60, database60];
      const a = await lim.take(key);
      const b = await dbLim.take(key);
      expect({ i, ...b }).toEqual({ i, ...a });
      seen[a.allowed ? 'allowed' : 'refused']++;
    }
    // The sequence exercised both answers.
    expect(seen.allowed).toBeGreaterThan(50);
    expect(seen.refused).toBeGreaterThan(50);
  });

  it('never refills from a clock reading older than the bucket (a request that lost the race to the row lock)', async () => {
    let now = 5_000_000;
    const lim = createRateLimiter(2, databaseBucketStore(t.db, createRateBucketRepo(), () => now));
    expect((await lim.take('key:back')).allowed).toBe(true);
    expect((await lim.take('key:back')).allowed).toBe(true);
    now -= 120_000;
    expect(await lim.take('key:back')).toMatchObject({ allowed: false, remaining: 0, retryAfter: 30 });
    now += 120_000 + 30_000;
    expect(await lim.take('key:back')).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('sweeps only buckets that are full again; a swept bucket decides as a full one', async () => {
    const repo = createRateBucketRepo();
    await repo.take(t.db, 'key:old', 11, 1_000);
    await repo.take(t.db, 'key:fresh', 11, 50_000);
    await repo.take(t.db, 'key:other-rate', 12, 1_000);
    expect(await repo.sweep(t.db, 11, 61_001)).toBe(1);
    const left = await t.db.query<{ per_minute: number; bucket: string }>("SELECT per_minute, bucket FROM rate_bucket WHERE bucket IN ('key:old', 'key:fresh', 'key:other-rate') ORDER BY 2");
    expect(left.rows).toEqual([{ per_minute: 11, bucket: 'key:fresh' }, { per_minute: 12, bucket: 'key:other-rate' }]);
    expect(await repo.take(t.db, 'key:old', 11, 61_001)).toEqual({ tokens: 10, allowed: true });
  });
});

const postgres = backends().find((b) => b.name === 'postgres');
(postgres ? describe : describe.skip)('rate-limit buckets shared by two pools on postgres', () => {
  let t: TestDb;
  let other: Awaited<ReturnType<typeof createPostgresDb>>;
  beforeAll(async () => {
    t = await postgres!.open();
    await migrate(t.db);
    other = await createPostgresDb(t.url!, 10);
  });
  afterAll(async () => {
    await other?.close();
    await t.drop();
  });

  it('lets exactly the bucket through when two instances take from it concurrently', async () => {
    const at = () => 9_000_000;
    const a = createRateLimiter(25, databaseBucketStore(t.db, createRateBucketRepo(), at));
    const b = createRateLimiter(25, databaseBucketStore(other, createRateBucketRepo(), at));
    const decisions = await Promise.all(Array.from({ length: 80 }, (_, i) => (i % 2 ? a : b).take('key:shared')));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(25);
    // Every remaining count from 24 down to 0 was handed out once: no two requests saw the same token.
    expect(decisions.filter((d) => d.allowed).map((d) => d.remaining).sort((x, y) => y - x)).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));
  });

  it('answers 503 UNAVAILABLE (not 401) to a request without a key while the database is unreachable', async () => {
    const db = await createPostgresDb(t.url!, 2);
    const svc = await startService(db, { engine: fixedFaceEngine(), migrateFirst: false });
    const dbName = new URL(t.url!).pathname.slice(1);
    const side = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await side.connect();
    try {
      expect((await request(svc.app).get('/v1/keys')).status).toBe(401);
      await side.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
      await side.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [dbName]);
      const r = await request(svc.app).get('/v1/keys');
      expect({ status: r.status, code: r.body.error?.code }).toEqual({ status: 503, code: 'UNAVAILABLE' });
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await side.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      await side.end();
    }
    expect((await request(svc.app).get('/v1/keys')).status).toBe(401);
    await svc.close();
    await db.close();
  });
});
