import { createHash } from 'node:crypto';
import request from 'supertest';
import { migrate } from '../../src/infra/db/migrate';
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
