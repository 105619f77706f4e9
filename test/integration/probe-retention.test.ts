import pg from 'pg';
import request from 'supertest';
import { PURGE_LOCK_KEY } from '../../src/modules/search/probe-face.repo';
import { createPostgresDb } from '../../src/platform/db/postgres.db';
import sharp from 'sharp';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { scriptedEngine } from '../helpers/fake-engine';
import { blankImage } from '../helpers/images';

const DAY = 86_400_000;

/**
 * Probe-face retention (API.md): every probe face's aligned crop is stored encrypted with its search, served to those who may
 * read the search, and purged PROBE_RETENTION_DAYS after it by an audited job. The clock is injected and moved by the test.
 */
describe.each(backends())('probe-face retention on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  const fake = scriptedEngine();
  let now = Date.parse('2026-03-01T10:00:00Z');
  let searcher: string;
  let auditor: string;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine: fake.engine, now: () => new Date(now), env: { PROBE_RETENTION_DAYS: '30', RATE_LIMIT_PER_MINUTE: '1000000' } });
    await svc.startEngine();
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    auditor = (await svc.key(['auditor'], '*')).auth;
  });
  afterAll(async () => {
    await svc?.close();
    await t?.drop();
  });

  const search = async (colour: number) => {
    const probe = fake.script(await blankImage(64, 64, { r: colour, g: 1, b: 2 }), [{ identity: 11 }, { identity: 12 }]);
    return (await request(svc.app).post('/v1/searches').set('Authorization', searcher).field('purpose', 'p').field('caseRef', 'C-1').attach('image', probe, 'p.jpg').expect(200)).body.searchId as string;
  };
  const crop = (auth: string, id: string, face: number | string) => request(svc.app).get(`/v1/searches/${id}/faces/${face}/image`).set('Authorization', auth);

  it('stores each probe face crop encrypted and serves it to the searching organization only', async () => {
    const id = await search(1);
    const res = await crop(searcher, id, 0).expect(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await sharp(res.body).metadata()).toMatchObject({ format: 'jpeg', width: 112, height: 112 });
    await crop(auditor, id, 1).expect(200);
    expect((await crop(searcher, id, 2)).status).toBe(404);
    expect((await crop(searcher, id, '0x1')).status).toBe(400);
    const foreign = (await svc.key(['searcher', 'reviewer'], 'bank-b')).auth;
    expect((await crop(foreign, id, 0)).status).toBe(404);
    const enroller = (await svc.key(['enroller'], 'bank-a')).auth;
    expect((await crop(enroller, id, 0)).status).toBe(403);

    const rows = await t.db.query<{ ciphertext: Uint8Array; key_id: string }>('SELECT ciphertext, key_id FROM probe_face_image WHERE search_id = $1 ORDER BY face_index', [id]);
    expect(rows.rows).toHaveLength(2);
    const stored = Buffer.from(rows.rows[0]!.ciphertext);
    expect(stored.subarray(0, 2)).not.toEqual(Buffer.from([0xff, 0xd8]));
    expect(stored.includes(res.body.subarray(0, 64))).toBe(false);
  });

  it('purges crops past the retention period in one audited event, keeps younger ones, and the chain still verifies', async () => {
    const old = await search(2);
    now += 20 * DAY;
    const young = await search(3);
    const events = async () => (await request(svc.app).get('/v1/audit/events?type=probe_faces.purged').set('Authorization', auditor).expect(200)).body.items;

    now += 9 * DAY; // the oldest crops are 29 days old: nothing to purge, nothing audited
    expect(await svc.probeFaces.purgeExpired()).toMatchObject({ crops: 0, audit: null });
    expect(await events()).toEqual([]);

    now += 2 * DAY; // 31 days after the first two searches, 11 after the young one
    const purged = await svc.probeFaces.purgeExpired();
    expect(purged).toMatchObject({ crops: 4, searches: 2, audit: { seq: expect.any(Number) } });
    expect((await crop(searcher, old, 0)).status).toBe(404);
    await crop(searcher, young, 0).expect(200);
    const [ev] = await events();
    expect(ev).toMatchObject({ actor: { keyId: null }, payload: { cropsRemoved: 4, searches: 2, retentionDays: 30, before: new Date(now - 30 * DAY).toISOString() } });
    // The search itself and its audit event stay: only the crops go.
    await request(svc.app).get(`/v1/searches/${old}`).set('Authorization', searcher).expect(200);
    expect((await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor).expect(200)).body.ok).toBe(true);
    expect(await svc.probeFaces.purgeExpired()).toMatchObject({ crops: 0 });
  });

  it('after a subject is erased, its candidate crop is gone (404) and the case file says so while the probe crop stays', async () => {
    const enroller = (await svc.key(['enroller'], 'bank-a')).auth;
    await svc.watchlist('bank-a', 'erasable');
    const subject = (await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
      .send({ displayName: 'Erasable Person', category: 'fraud', watchlist: 'erasable', legalBasis: 'test' }).expect(201)).body.id as string;
    const photo = fake.script(await blankImage(64, 64, { r: 200, g: 1, b: 2 }), [{ identity: 11 }]);
    await request(svc.app).post(`/v1/subjects/${subject}/faces`).set('Authorization', enroller).attach('image', photo, 'e.jpg').expect(201);
    const id = await search(5);
    await request(svc.app).get(`/v1/searches/${id}/faces/0/candidates/1/image`).set('Authorization', searcher).expect(200);
    await request(svc.app).delete(`/v1/subjects/${subject}`).set('Authorization', enroller).expect(200);
    expect((await request(svc.app).get(`/v1/searches/${id}/faces/0/candidates/1/image`).set('Authorization', searcher)).status).toBe(404);
    await crop(searcher, id, 0).expect(200);
    const html = (await request(svc.app).get(`/v1/searches/${id}/report?format=html`).set('Authorization', auditor).expect(200)).text;
    expect(html).toContain('enrolled face not available (subject erased)');
    expect(html).toMatch(/src="data:image\/jpeg;base64,/); // the probe crop is still shown
  });

  it('runs the purge from the periodic job started with the service', async () => {
    const id = await search(4);
    now += 31 * DAY;
    const before = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM probe_face_image WHERE search_id = $1', [id]);
    expect(before.rows[0]!.n).toBe(2);
    await svc.startRetentionJob(3_600_000); // resolves after the job's first run, which starts at once
    const after = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM probe_face_image WHERE search_id = $1', [id]);
    expect(after.rows[0]!.n).toBe(0);
  });
});

const postgres = backends().find((b) => b.name === 'postgres');
(postgres ? describe : describe.skip)('probe-face purge run by two instances on postgres', () => {
  it('purges each expired crop once, in one audited event, however the two hourly jobs overlap', async () => {
    const t = await postgres!.open();
    const fake = scriptedEngine();
    let now = Date.parse('2026-03-01T10:00:00Z');
    const env = { PROBE_RETENTION_DAYS: '30', RATE_LIMIT_PER_MINUTE: '1000000' };
    const one = await startService(t.db, { engine: fake.engine, now: () => new Date(now), env });
    const otherPool = await createPostgresDb(t.url!, 4);
    const two = await startService(otherPool, { engine: fake.engine, now: () => new Date(now), env, migrateFirst: false });
    const side = new pg.Client({ connectionString: t.url });
    await side.connect();
    try {
      await one.startEngine();
      const searcher = (await one.key(['searcher'], 'bank-a')).auth;
      for (const colour of [1, 2, 3]) {
        const probe = fake.script(await blankImage(64, 64, { r: colour, g: 1, b: 2 }), [{ identity: 11 }, { identity: 12 }]);
        await request(one.app).post('/v1/searches').set('Authorization', searcher).field('purpose', 'p').field('caseRef', 'C-1').attach('image', probe, 'p.jpg').expect(200);
      }
      now += 31 * DAY;
      // While another instance's purge holds the lock, this one removes nothing and says so.
      await side.query('BEGIN');
      await side.query('SELECT pg_advisory_xact_lock($1)', [PURGE_LOCK_KEY]);
      expect(await two.probeFaces.purgeExpired()).toMatchObject({ crops: 0, concurrent: true, audit: null });
      await side.query('ROLLBACK');
      // Both jobs at once: whichever runs second finds the lock taken or nothing left.
      const [a, b] = await Promise.all([one.probeFaces.purgeExpired(), two.probeFaces.purgeExpired()]);
      expect(a.crops + b.crops).toBe(6);
      const events = await t.db.query<{ crops: number }>("SELECT (payload->>'cropsRemoved')::int AS crops FROM audit_event WHERE type = 'probe_faces.purged'");
      expect(events.rows).toEqual([{ crops: 6 }]);
      expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM probe_face_image')).rows[0]!.n).toBe(0);
    } finally {
      await side.end();
      await one.close();
      await two.close();
      await otherPool.close();
      await t.drop();
    }
  });
});
