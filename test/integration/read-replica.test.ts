import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import pino from 'pino';
import request from 'supertest';
import { ConfigError, loadConfig } from '../../src/config';
import type { Db } from '../../src/shared/db';
import { createPostgresDb } from '../../src/platform/db/postgres.db';
import { createReadRouter } from '../../src/platform/db/read-replica';
import { startService } from '../helpers/app';
import { bytesFaceEngine } from '../helpers/fake-engine';
import { findPostgresBin, freePort, startReplicaPair, type ReplicaPair } from '../helpers/replica-cluster';

/**
 * DATABASE_READ_URL against a real streaming replica: the test builds its own primary and hot-standby clusters (never the
 * machine's). Lag is made deterministic by pausing the standby's replay (pg_wal_replay_pause): a write made then exists on the
 * primary only, so a read that misses it was served by the replica and a read that sees it was served by the primary.
 * Two services share the pair: `loose` (lag bound one hour: a paused replica stays in use) and `tight` (2 s: it falls back; a
 * bound well above the check interval, so a busy machine does not make a caught-up replica look late).
 */
describe('DATABASE_READ_URL configuration', () => {
  it('refuses a read URL beside the embedded PGlite with a start-up error naming the key', () => {
    let err: unknown;
    try {
      loadConfig({ DATABASE_READ_URL: 'postgres://facematch@replica.internal:5432/facematch' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^DATABASE_READ_URL: needs DATABASE_URL/)]);
  });

  it('reads the replica URL and its lag bound with DATABASE_URL, and refuses a bound below 50 ms', () => {
    const env = { DATABASE_URL: 'postgres://f@primary:5432/f', DATABASE_READ_URL: 'postgres://f@replica:5432/f' };
    expect(loadConfig(env).db.read).toEqual({ url: env.DATABASE_READ_URL, maxLagMs: 1000 });
    expect(loadConfig({ ...env, DATABASE_READ_MAX_LAG_MS: '250' }).db.read?.maxLagMs).toBe(250);
    expect(() => loadConfig({ ...env, DATABASE_READ_MAX_LAG_MS: '10' })).toThrow(/DATABASE_READ_MAX_LAG_MS/);
    expect(loadConfig({ DATABASE_URL: env.DATABASE_URL }).db.read).toBeUndefined();
  });
});

const found = findPostgresBin();
if ('missing' in found) process.stderr.write(`note: read-replica tests skipped: ${found.missing}\n`);
const describeReplica = 'bin' in found ? describe : describe.skip;

type Svc = Awaited<ReturnType<typeof startService>>;
type Log = { level: number; msg: string; replica?: string };

/** Bounded polling on a condition (no timed assertion: the bound only stops a test that would otherwise hang). */
async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`still not true after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const TIGHT_MS = 2000;
const photo = (n: number) => fs.readFileSync(path.join(__dirname, `../../node_modules/@vladmandic/face-api/demo/sample${n}.jpg`));

describeReplica('read replica on a real streaming hot standby', () => {
  let pair: ReplicaPair;
  let primary: Db;
  let replicaDb: Db;
  let loose: Svc;
  let tight: Svc;
  let primarySql: pg.Client;
  let replicaSql: pg.Client;
  const looseLogs: Log[] = [];
  const tightLogs: Log[] = [];
  let enroller: string;
  let searcher: string;
  let auditor: string;
  let subjectA: string;
  let subjectB: string;
  let searchId: string;
  let watchlistId: string;

  const capture = (into: Log[]) => pino({ level: 'info' }, { write: (s: string) => void into.push(JSON.parse(s)) });
  const service = (maxLagMs: number, logs: Log[]) =>
    startService(primary, {
      env: { DATABASE_URL: pair.primaryUrl, DATABASE_READ_URL: pair.replicaUrl, DATABASE_READ_MAX_LAG_MS: String(maxLagMs) },
      replica: replicaDb,
      engine: bytesFaceEngine(),
      logger: capture(logs),
    });

  beforeAll(async () => {
    pair = await startReplicaPair((found as { bin: string }).bin);
    primary = await createPostgresDb(pair.primaryUrl, 8);
    replicaDb = await createPostgresDb(pair.replicaUrl, 4, { connectNow: false, connectionTimeoutMillis: 2000 });
    loose = await service(3_600_000, looseLogs);
    tight = await service(TIGHT_MS, tightLogs);
    await loose.startEngine();
    await tight.startEngine();
    primarySql = await pair.primaryAdmin();
    replicaSql = await pair.replicaAdmin();
    enroller = (await loose.key(['enroller'], 'bank-a')).auth;
    searcher = (await loose.key(['searcher'], 'bank-a')).auth;
    auditor = (await loose.key(['auditor'], '*')).auth;
  });

  afterAll(async () => {
    await replicaSql?.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
    await replicaSql?.end().catch(() => undefined);
    await primarySql?.end().catch(() => undefined);
    await loose?.close();
    await tight?.close();
    await replicaDb?.close();
    await primary?.close();
    pair?.destroy();
  });

  const reads = async (svc: Svc, target: 'replica' | 'primary') =>
    (await svc.metrics.dbReads.get()).values.find((v) => v.labels.target === target)?.value ?? 0;
  const subjectIds = async (svc: Svc, auth = enroller) =>
    ((await request(svc.app).get('/v1/subjects?limit=100').set('Authorization', auth).expect(200)).body.items as Array<{ id: string }>).map((s) => s.id);
  const createSubject = async (name: string) =>
    (await request(loose.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: name, category: 'fraud', watchlist: 'wl', legalBasis: 'test' }).expect(201)).body.id as string;
  const usable = (svc: Svc) => until('the replica is in use', async () => (await svc.replica!.check()).usable);
  const warnings = (logs: Log[], state: string) => logs.filter((l) => l.msg === 'read replica not used; reads go to the primary' && l.replica === state);
  const recoveries = (logs: Log[]) => logs.filter((l) => l.msg === 'read replica in use again');

  it('serves listings from the replica and by-id reads from the primary: with replay paused, a new subject is missing from the list but its GET by id answers at once', async () => {
    watchlistId = await loose.watchlist('bank-a', 'wl');
    subjectA = await createSubject('A');
    await pair.waitReplayed();
    await usable(loose);
    await usable(tight);
    const before = await reads(loose, 'replica');
    expect(await subjectIds(loose)).toEqual([subjectA]);
    expect(await reads(loose, 'replica')).toBeGreaterThan(before);

    await replicaSql.query('SELECT pg_wal_replay_pause()');
    await until('replay is paused', async () => (await replicaSql.query(`SELECT pg_get_wal_replay_pause_state() = 'paused' AS p`)).rows[0].p);
    subjectB = await createSubject('B');
    await request(loose.app).post(`/v1/subjects/${subjectB}/faces`).set('Authorization', enroller).attach('image', photo(1), 'b.jpg').expect(201);

    // The list comes from the paused replica (one-hour bound): B is not there yet.
    expect(await subjectIds(loose)).toEqual([subjectA]);
    // GET by id reads the primary: a client that has just created B finds it.
    const b = await request(loose.app).get(`/v1/subjects/${subjectB}`).set('Authorization', enroller).expect(200);
    expect(b.body.faceCount).toBe(1);
    expect(loose.replica!.status()).toMatchObject({ state: 'ok', usable: true });
  });

  it('falls back to the primary once the paused replica exceeds the lag bound: fresh data, /readyz still ready and saying why, logged once, not per read', async () => {
    await until('the tight service sees the replica lagging', async () => (await tight.replica!.check()).state === 'lagging');
    const logged = warnings(tightLogs, 'lagging').length;
    expect(logged).toBeGreaterThanOrEqual(1);
    const before = await reads(tight, 'primary');
    for (let i = 0; i < 3; i++) expect((await subjectIds(tight)).sort()).toEqual([subjectA, subjectB].sort());
    expect(await reads(tight, 'primary')).toBeGreaterThanOrEqual(before + 3);

    const ready = await request(tight.app).get('/readyz').expect(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.checks).toMatchObject({ database: true, replica: false });
    expect(ready.body.replica).toMatchObject({ state: 'lagging', maxLagMs: TIGHT_MS });
    expect(ready.body.replica.lagMs).toBeGreaterThan(TIGHT_MS);
    const metrics = (await request(tight.app).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^facematch_db_replica_usable 0$/m);
    expect(Number(/^facematch_db_replica_lag_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(TIGHT_MS / 1000);
    // Replay is paused, so the bound only grows: still lagging, and no line was logged per read.
    expect(warnings(tightLogs, 'lagging')).toHaveLength(logged);
  });

  it('runs searches on the primary in one transaction with their audit event while the replica lags: the template only the primary has is found, GET by id answers at once', async () => {
    const res = await request(loose.app).post('/v1/searches').set('Authorization', searcher).attach('image', photo(1), 'probe.jpg')
      .field('purpose', 'replica test').field('caseRef', 'R-1').expect(200);
    searchId = res.body.searchId;
    expect(searchId).toEqual(expect.any(String));
    // B's face was enrolled after replay paused: only the primary has it, so the kNN ran there.
    expect(res.body.faces[0].candidates[0]).toMatchObject({ subjectId: subjectB, similarity: 1 });
    const ev = (await primarySql.query('SELECT seq, hash, prev_hash FROM audit_event WHERE search_id = $1', [searchId])).rows;
    expect(ev.map((e) => ({ seq: Number(e.seq), hash: e.hash }))).toEqual([{ seq: res.body.audit.seq, hash: res.body.audit.hash }]);
    expect(res.body.gallery.snapshot).toBe(`${res.body.audit.seq - 1}:${ev[0].prev_hash.slice(0, 16)}`);

    expect((await request(loose.app).get(`/v1/searches/${searchId}`).set('Authorization', searcher).expect(200)).body.searchId).toBe(searchId);
    // The listing is the replica's, which has not replayed the search yet (listings may be stale up to the lag bound).
    const listed = (await request(loose.app).get('/v1/searches').set('Authorization', searcher).expect(200)).body.items as Array<{ searchId: string }>;
    expect(listed.map((s) => s.searchId)).not.toContain(searchId);
  });

  it('verifies the audit chain on the replica once it has replayed, up to the primary head, and goes back to the replica after lagging', async () => {
    await replicaSql.query('SELECT pg_wal_replay_resume()');
    await pair.waitReplayed();
    await usable(tight);
    expect(recoveries(tightLogs).length).toBeGreaterThanOrEqual(1);
    const listed = (await request(loose.app).get('/v1/searches').set('Authorization', searcher).expect(200)).body.items as Array<{ searchId: string }>;
    expect(listed.map((s) => s.searchId)).toContain(searchId);

    const head = Number((await primarySql.query('SELECT max(seq) AS s FROM audit_event')).rows[0].s);
    const before = await reads(loose, 'replica');
    const v = (await request(loose.app).get('/v1/audit/verify').set('Authorization', auditor).expect(200)).body;
    expect(v).toMatchObject({ ok: true, headSeq: head });
    expect(await reads(loose, 'replica')).toBeGreaterThan(before);
    const events = (await request(loose.app).get(`/v1/audit/events?searchId=${searchId}`).set('Authorization', auditor).expect(200)).body.items;
    // (the search.run event, and the read.search events of the test's own reads of it)
    expect(events.filter((e: { type: string }) => e.type !== 'read.search')).toEqual([expect.objectContaining({ type: 'search.run', searchId })]);
  });

  it('never sends a write, a transaction, a lock or a kNN to the replica, and did serve reads there', async () => {
    const statements = (
      await replicaSql.query<{ query: string }>(
        `SELECT s.query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'facematch'`,
      )
    ).rows.map((r) => r.query);
    const forbidden = statements.filter((q) => /^\s*(INSERT|UPDATE|DELETE|BEGIN|COMMIT)\b/i.test(q) || /pg_advisory|FOR UPDATE|<=>/i.test(q));
    expect(forbidden).toEqual([]);
    expect(statements.some((q) => /FROM subject s JOIN watchlist w/.test(q))).toBe(true);
    expect(statements.some((q) => /FROM audit_event/.test(q))).toBe(true);
  });

  it('with KNN_ON_REPLICA runs a search\'s gallery snapshot on the replica and records the position it held: a face enrolled after replay paused is missed and the recorded seq is before its enrolment; after replay it is found', async () => {
    const onReplica = await startService(primary, {
      env: { DATABASE_URL: pair.primaryUrl, DATABASE_READ_URL: pair.replicaUrl, DATABASE_READ_MAX_LAG_MS: '3600000', KNN_ON_REPLICA: 'true' },
      replica: replicaDb,
      engine: bytesFaceEngine(),
    });
    try {
      await onReplica.startEngine();
      // Another organization's subject, so the listings the later tests compare stay A and B.
      await loose.watchlist('bank-knn', 'wl-knn');
      const knnEnroller = (await loose.key(['enroller'], 'bank-knn')).auth;
      const knnSearcher = (await loose.key(['searcher'], 'bank-knn')).auth;
      await replicaSql.query('SELECT pg_wal_replay_resume()');
      await pair.waitReplayed();
      await usable(onReplica);
      const knnOnReplica = async () =>
        Number((await replicaSql.query(`SELECT coalesce(sum(s.calls), 0) AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'facematch' AND s.query LIKE '%<=>%'`)).rows[0].n);
      const search = async (caseRef: string) =>
        (await request(onReplica.app).post('/v1/searches').set('Authorization', knnSearcher).attach('image', photo(3), 'probe.jpg').field('purpose', 'replica kNN').field('caseRef', caseRef).expect(200)).body;

      await replicaSql.query('SELECT pg_wal_replay_pause()');
      await until('replay is paused', async () => (await replicaSql.query(`SELECT pg_get_wal_replay_pause_state() = 'paused' AS p`)).rows[0].p);
      const subjectC = (await request(loose.app).post('/v1/subjects').set('Authorization', knnEnroller).send({ displayName: 'C', category: 'fraud', watchlist: 'wl-knn', legalBasis: 'test' }).expect(201)).body.id as string;
      await request(loose.app).post(`/v1/subjects/${subjectC}/faces`).set('Authorization', knnEnroller).attach('image', photo(3), 'c.jpg').expect(201);
      const enrolled = Number((await primarySql.query(`SELECT max(seq) AS s FROM audit_event WHERE type = 'face.enrolled' AND $1 = ANY(subject_ids)`, [subjectC])).rows[0].s);
      expect(enrolled).toBeGreaterThan(0);

      const before = await knnOnReplica();
      const missed = await search('R-KNN-1');
      expect(await knnOnReplica()).toBeGreaterThan(before);
      expect(missed.faces[0].candidates.map((c: { subjectId: string }) => c.subjectId)).not.toContain(subjectC);
      // The position is the replica's head, older than C's enrolment; the search's own event is appended on the primary's head.
      const position = Number(String(missed.gallery.snapshot).split(':')[0]);
      expect(position).toBeLessThan(enrolled);
      expect(missed.audit.seq).toBeGreaterThan(enrolled);

      await replicaSql.query('SELECT pg_wal_replay_resume()');
      await pair.waitReplayed();
      const found = await search('R-KNN-2');
      expect(found.faces[0].candidates[0]).toMatchObject({ subjectId: subjectC, similarity: 1 });
      expect(Number(String(found.gallery.snapshot).split(':')[0])).toBeGreaterThanOrEqual(enrolled);
    } finally {
      await replicaSql.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
      await onReplica.close();
    }
  });

  it('keeps answering from the primary while the replica is stopped (no 503), logs the outage once when it starts and once when it ends', async () => {
    // Counted from here: the first check may have met a standby still replaying the migrations (a 'lagging' line, then a recovery).
    const [down0, up0] = [warnings(looseLogs, 'down').length, recoveries(looseLogs).length];
    await replicaSql.end();
    pair.stopReplica();
    for (let i = 0; i < 3; i++) {
      expect((await subjectIds(loose)).sort()).toEqual([subjectA, subjectB].sort());
      await request(loose.app).get('/v1/audit/events').set('Authorization', auditor).expect(200);
      await request(loose.app).get('/v1/oversight/stats').set('Authorization', auditor).expect(200);
    }
    await until('the loose service sees the replica down', async () => (await loose.replica!.check()).state === 'down');
    const ready = await request(loose.app).get('/readyz').expect(200);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { database: true, replica: false }, replica: { state: 'down' } });
    expect(warnings(looseLogs, 'down')).toHaveLength(down0 + 1);
    expect(recoveries(looseLogs)).toHaveLength(up0);

    pair.startReplica();
    replicaSql = await pair.replicaAdmin();
    await usable(loose);
    expect(recoveries(looseLogs)).toHaveLength(up0 + 1);
    expect(warnings(looseLogs, 'down')).toHaveLength(down0 + 1);
    const before = await reads(loose, 'replica');
    expect((await subjectIds(loose)).sort()).toEqual([subjectA, subjectB].sort());
    expect(await reads(loose, 'replica')).toBeGreaterThan(before);
  });

  it('lists subjects from the replica only within the watchlists the primary allows: a grantee, whose grant the replica still holds live, lists none', async () => {
    const owner = { keyId: 'owner-bank-a', roles: ['admin' as const], organization: 'bank-a' };
    const grant = await loose.grant('bank-a', watchlistId, { organization: 'bank-b', access: 'search' });
    const partner = (await loose.key(['enroller'], 'bank-b')).auth;
    await pair.waitReplayed();
    await usable(loose);
    // A grant shares searches, not records: the grantee lists none of the owner's subjects, from either database.
    expect(await subjectIds(loose, partner)).toEqual([]);

    await replicaSql.query('SELECT pg_wal_replay_pause()');
    try {
      await until('replay is paused', async () => (await replicaSql.query(`SELECT pg_get_wal_replay_pause_state() = 'paused' AS p`)).rows[0].p);
      await loose.watchlists.revoke(owner, watchlistId, grant.id);
      // The replica still has the grant live; the listing is served there, but only within the primary's answer (none).
      const live = (await replicaSql.query('SELECT revoked_at IS NULL AS live FROM watchlist_grant WHERE id = $1', [grant.id])).rows[0].live;
      expect(live).toBe(true);
      const before = await reads(loose, 'replica');
      expect(await subjectIds(loose, partner)).toEqual([]);
      expect(await reads(loose, 'replica')).toBeGreaterThan(before);
      expect((await subjectIds(loose)).sort()).toEqual([subjectA, subjectB].sort());
    } finally {
      await replicaSql.query('SELECT pg_wal_replay_resume()');
    }
  });

  it('starts with a replica that is not there (nothing listening at DATABASE_READ_URL): ready, every read from the primary', async () => {
    const nowhere = new URL(pair.replicaUrl);
    nowhere.port = String(await freePort());
    const absent = await createPostgresDb(nowhere.toString(), 2, { connectNow: false, connectionTimeoutMillis: 2000 });
    const logs: Log[] = [];
    const svc = await startService(primary, {
      env: { DATABASE_URL: pair.primaryUrl, DATABASE_READ_URL: nowhere.toString() },
      replica: absent,
      engine: bytesFaceEngine(),
      logger: capture(logs),
    });
    try {
      await svc.startEngine();
      await until('the replica is seen down', async () => (await svc.replica!.check()).state === 'down');
      expect((await request(svc.app).get('/readyz').expect(200)).body).toMatchObject({ status: 'ready', checks: { replica: false }, replica: { state: 'down', lagMs: null } });
      expect((await subjectIds(svc)).sort()).toEqual([subjectA, subjectB].sort());
      await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor).expect(200);
      expect(await reads(svc, 'replica')).toBe(0);
      expect(warnings(logs, 'down')).toHaveLength(1);
    } finally {
      await svc.close();
      await absent.close();
    }
  });

  it('never reads from a server that is not a standby of this primary (the primary itself, a promoted replica, another cluster\'s standby)', async () => {
    const itself = await createPostgresDb(pair.primaryUrl, 1);
    const other = await createPostgresDb(pair.otherUrl, 1);
    try {
      const router = createReadRouter({ primary, replica: itself, maxLagMs: 1000 });
      expect(await router.check()).toMatchObject({ state: 'not_standby', usable: false });
      // Seen from an unrelated primary, our standby is in recovery but its WAL positions mean nothing: never used.
      const foreign = createReadRouter({ primary: other, replica: replicaDb, maxLagMs: 3_600_000 });
      for (let i = 0; i < 3; i++) expect(await foreign.check()).toMatchObject({ state: 'not_standby', usable: false });
    } finally {
      await itself.close();
      await other.close();
    }
  });
});
