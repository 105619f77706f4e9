import pg from 'pg';
import pino from 'pino';
import request from 'supertest';
import { createPostgresDb } from '../../src/platform/db/postgres.db';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { auditLockHolder } from '../helpers/pg-locks';
import { fixedFaceEngine } from '../helpers/fake-engine';

/**
 * Database faults on the real PostgreSQL, in a database the test creates (the machine's cluster is never stopped or
 * reconfigured). Kills are made deterministic by holding the audit append lock from a side connection: every search's
 * transaction then waits inside the database, and pg_terminate_backend kills it mid-transaction.
 */
const postgres = backends().find((b) => b.name === 'postgres');
const describePg = postgres ? describe : describe.skip;

describePg('database faults on postgres', () => {
  let t: TestDb;
  let side: pg.Client;
  let dbName: string;
  const logs: Array<{ msg: string; level: number }> = [];

  beforeAll(async () => {
    t = await postgres!.open();
    dbName = new URL(t.url!).pathname.slice(1);
    side = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await side.connect();
  });
  afterAll(async () => {
    await side?.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await side?.end();
    await t?.drop();
  });

  /** A service on its own pool whose availability log lines are captured. */
  async function service() {
    const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s)) });
    const db = await createPostgresDb(t.url!, 6, { logger });
    const svc = await startService(db, { engine: fixedFaceEngine() });
    await svc.startEngine();
    return { db, svc, searcher: (await svc.key(['searcher'], 'bank-a')).auth, auditor: (await svc.key(['auditor'], '*')).auth };
  }

  const search = (app: Parameters<typeof request>[0], auth: string, i: number) =>
    request(app).post('/v1/searches').set('Authorization', auth).attach('image', Buffer.from(`probe ${i}`), 'p.jpg')
      .field('purpose', 'fault test').field('caseRef', `F-${i}`);

  const terminateAll = () =>
    side.query('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);

  it('survives backends terminated under concurrent searches: every response is 200 or 503 UNAVAILABLE with Retry-After, every 200 is stored and audited, the chain verifies', async () => {
    const { db, svc, searcher, auditor } = await service();
    const responses: request.Response[] = [];
    let n = 0;
    for (let round = 0; round < 5; round++) {
      // Killed mid-transaction: four searches wait on the audit lock, then every other backend of the database is terminated.
      const lock = await auditLockHolder(t.url!);
      try {
        const inFlight = Array.from({ length: 4 }, () => search(svc.app, searcher, n++).then((r) => r));
        await lock.waiters(4);
        await side.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2', [dbName, lock.pid]);
        await lock.release();
        const killed = await Promise.all(inFlight);
        responses.push(...killed);
        for (const r of killed) {
          expect({ status: r.status, code: r.body.error?.code }).toEqual({ status: 503, code: 'UNAVAILABLE' });
          expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        }
        // Terminations racing with searches on fresh connections (idle and active backends alike).
        const racing = Array.from({ length: 6 }, () => search(svc.app, searcher, n++).then((r) => r));
        await terminateAll();
        responses.push(...(await Promise.all(racing)));
        // A pooled connection killed while idle is dropped when it is found dead (that request gets a 503); within as many
        // requests as the pool has connections, searches succeed again on new connections.
        let after = await search(svc.app, searcher, n++);
        for (let i = 0; i < 6 && after.status !== 200; i++) {
          expect(after.body.error.code).toBe('UNAVAILABLE');
          after = await search(svc.app, searcher, n++);
        }
        expect(after.status).toBe(200);
        responses.push(after);
      } finally {
        await lock.release();
      }
    }
    for (const r of responses) {
      expect([200, 503]).toContain(r.status);
      if (r.status === 503) {
        expect(r.body.error.code).toBe('UNAVAILABLE');
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
    }
    const ok = responses.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(5);
    const stored = await t.db.query<{ id: string; seq: number | null }>(
      `SELECT s.id, e.seq FROM search s LEFT JOIN audit_event e ON e.search_id = s.id AND e.type = 'search.run'`);
    const byId = new Map(stored.rows.map((r) => [r.id, r.seq]));
    for (const r of ok) expect(byId.get(r.body.searchId)).toBe(r.body.audit.seq);
    // Nothing half-written: every stored search has its event, and nothing was stored for a 503.
    expect(stored.rows.every((r) => r.seq !== null)).toBe(true);
    expect(stored.rows.length).toBe(ok.length);
    const v = await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor);
    expect(v.status).toBe(200);
    expect(v.body.ok).toBe(true);
    await svc.close();
    await db.close();
  });

  it('answers 503 UNAVAILABLE with Retry-After while the database refuses connections, logs the outage once and its end once, and /readyz says so', async () => {
    const { db, svc, searcher } = await service();
    logs.length = 0;
    await side.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
    await terminateAll();
    try {
      for (let i = 0; i < 8; i++) {
        const r = await search(svc.app, searcher, 1000 + i);
        expect({ status: r.status, code: r.body.error?.code }).toEqual({ status: 503, code: 'UNAVAILABLE' });
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
      const ready = await request(svc.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database).toBe(false);
    } finally {
      await side.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
    }
    expect((await search(svc.app, searcher, 2000)).status).toBe(200);
    expect((await request(svc.app).get('/readyz')).body.checks.database).toBe(true);
    const outage = logs.filter((l) => /database/.test(l.msg));
    expect(outage.map((l) => l.msg)).toEqual(['database unavailable', 'database available again']);
    expect(logs.filter((l) => l.level >= 50 && l.msg === 'unhandled error')).toEqual([]);
    await svc.close();
    await db.close();
  });
});
