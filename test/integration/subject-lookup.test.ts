import { createHash } from 'node:crypto';
import request from 'supertest';
import { migrate } from '../../src/platform/db/migrate';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * The exact look-ups bulk enrolment resumes with (GET /v1/subjects?externalRef= and ?imageSha256=, each face's imageSha256),
 * on the real services and database; every response is checked against /openapi.json.
 */
describe.each(backends())('subject look-up by reference and photo hash on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let fiu: string;
  let bank: string;
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv(), engine: bytesFaceEngine() });
    await svc.startEngine();
    await svc.watchlist('fiu', 'list-a');
    await svc.watchlist('fiu', 'list-b');
    await svc.watchlist('bank-a', 'list-a');
    fiu = (await svc.key(['enroller'], 'fiu')).auth;
    bank = (await svc.key(['enroller'], 'bank-a')).auth;
  });
  afterAll(() => t.drop());

  const api = () => request(svc.app);
  const subject = async (auth: string, watchlist: string, displayName: string, externalRef?: string) =>
    (await api().post('/v1/subjects').set('Authorization', auth).send({ displayName, category: 'fraud', watchlist, legalBasis: 'x', externalRef }).expect(201)).body as { id: string };
  const ids = async (auth: string, query: string) =>
    ((await api().get(`/v1/subjects?${query}`).set('Authorization', auth).expect(200)).body.items as { id: string }[]).map((s) => s.id).sort();

  // Issue 27 #10: year 0000 passed validation and reached PostgreSQL (no year 0) → 500. Now a 400 like any other bad date.
  it('answers 400 VALIDATION_FAILED, not 500, for a year-0000 date (reviewBy, a search listing from/to) and stores nothing', async () => {
    const before = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM subject')).rows[0]!.n;
    for (const reviewBy of ['0000-01-01', '0000-12-31']) {
      const res = await api().post('/v1/subjects').set('Authorization', fiu)
        .send({ displayName: 'Year zero', category: 'fraud', watchlist: 'list-a', legalBasis: 'x', reviewBy });
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(JSON.stringify(res.body)).toContain('0001');
    }
    expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM subject')).rows[0]!.n).toBe(before);
    const auditor = (await svc.key(['auditor'], '*')).auth;
    const list = await api().get('/v1/searches?from=0000-01-01T00:00:00Z').set('Authorization', auditor);
    expect({ status: list.status, code: list.body.error?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await api().post('/v1/subjects').set('Authorization', fiu)
      .send({ displayName: 'Year one', category: 'fraud', watchlist: 'list-a', legalBasis: 'x', reviewBy: '0001-01-01' })).status).toBe(201);
  });

  // Issue 27 #10: a move between watchlists changes who may see the subject; its audit event only said fields: ['watchlist'].
  it('audits a subject moved between watchlists with from and to', async () => {
    const s = await subject(fiu, 'list-a', 'Mover');
    await api().patch(`/v1/subjects/${s.id}`).set('Authorization', fiu).send({ watchlist: 'list-b' }).expect(200);
    await api().patch(`/v1/subjects/${s.id}`).set('Authorization', fiu).send({ watchlist: 'list-b', notes: 'n' }).expect(200);
    const ev = await t.db.query<{ payload: Record<string, unknown> }>(
      "SELECT payload FROM audit_event WHERE type = 'subject.updated' AND $1::uuid = ANY(subject_ids) ORDER BY seq", [s.id]);
    const ids = await t.db.query<{ id: string; name: string }>("SELECT id, name FROM watchlist WHERE organization = 'fiu' ORDER BY name");
    const [a, b] = ids.rows;
    expect(ev.rows.map((r) => r.payload)).toEqual([
      { fields: ['watchlist'], moved: { fromWatchlistId: a!.id, fromWatchlist: 'list-a', toWatchlistId: b!.id, toWatchlist: 'list-b' } },
      { fields: ['notes', 'watchlist'] },
    ]);
  });

  it('finds a subject by its exact external reference within a watchlist, never by part of it or in another organization', async () => {
    const a = await subject(fiu, 'list-a', 'Ref Holder', 'REF-100');
    const b = await subject(fiu, 'list-b', 'Same Ref Elsewhere', 'REF-100');
    await subject(fiu, 'list-a', 'Longer Ref', 'REF-1000');
    await subject(fiu, 'list-a', 'REF-100 in the name');
    const theirs = await subject(bank, 'list-a', 'Bank Subject', 'REF-100');

    expect(await ids(fiu, 'watchlist=list-a&externalRef=REF-100')).toEqual([a.id]);
    expect(await ids(fiu, 'externalRef=REF-100')).toEqual([a.id, b.id].sort());
    expect(await ids(bank, 'externalRef=REF-100')).toEqual([theirs.id]);
    expect(await ids(fiu, 'watchlist=list-a&externalRef=REF-10')).toEqual([]);
  });

  it('keeps each enrolment photo’s SHA-256 with its face (older faces: from the audit chain) and finds the subjects holding a photo by it', async () => {
    const one = await seededPng(7001);
    const two = await seededPng(7002);
    const s = await subject(fiu, 'list-a', 'Two Photos', 'REF-200');
    const other = await subject(fiu, 'list-b', 'Same Photo Elsewhere');
    for (const [id, photo] of [[s.id, one], [s.id, two], [other.id, one]] as const) {
      await api().post(`/v1/subjects/${id}/faces`).set('Authorization', fiu).attach('image', photo, 'f.png').expect(201);
    }
    const faces = (await api().get(`/v1/subjects/${s.id}`).set('Authorization', fiu).expect(200)).body.faces as { imageSha256: string }[];
    expect(faces.map((f) => f.imageSha256).sort()).toEqual([sha(one), sha(two)].sort());

    expect(await ids(fiu, `watchlist=list-a&imageSha256=${sha(one)}`)).toEqual([s.id]);
    expect(await ids(fiu, `imageSha256=${sha(one)}`)).toEqual([s.id, other.id].sort());
    expect(await ids(bank, `imageSha256=${sha(one)}`)).toEqual([]);
    expect(await ids(fiu, `imageSha256=${sha(await seededPng(7003))}`)).toEqual([]);

    // Templates enrolled before migration 0050 get their photo's hash from the audit chain's face.enrolled events.
    await t.db.exec('ALTER TABLE face DROP COLUMN image_sha256; DROP INDEX subject_external_ref_idx');
    await t.db.query('DELETE FROM schema_migration WHERE version = 50');
    expect(await migrate(t.db)).toEqual([50]);
    const refilled = (await api().get(`/v1/subjects/${s.id}`).set('Authorization', fiu).expect(200)).body.faces as { imageSha256: string }[];
    expect(refilled.map((f) => f.imageSha256).sort()).toEqual([sha(one), sha(two)].sort());
    expect(await ids(fiu, `watchlist=list-a&imageSha256=${sha(one)}`)).toEqual([s.id]);

    const bad = await api().get('/v1/subjects?imageSha256=ABC').set('Authorization', fiu);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });
});
