import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createFaceRepo } from '../../src/infra/db/face.repo';
import { toVectorParam } from '../../src/infra/db/db';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { seededUnitVectors } from '../helpers/vectors';
import { seedSearch, serviceEnv } from './oversight.fixtures';

/** Templates are inserted through the face repository (the engine is not needed to prove what erasure leaves behind). */
describe.each(backends())('erasure and governance on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let enroller: string;
  let auditor: string;
  const faces = createFaceRepo();
  const MODEL = 'test-model';
  const vectors = seededUnitVectors(6, 128, 99);

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv() });
    enroller = (await svc.key(['enroller'], 'fiu')).auth;
    auditor = (await svc.key(['auditor'], '*')).auth;
  });
  afterAll(() => t.drop());

  const createSubject = async (extra: Record<string, unknown> = {}) =>
    (await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'P', category: 'fraud', watchlist: 'wl', legalBasis: 'x', ...extra }).expect(201)).body.id as string;

  async function enrolTemplate(subjectId: string, embedding: number[]) {
    const faceId = randomUUID();
    await t.db.transaction(async (tx) => {
      await faces.insert(tx, { id: faceId, subjectId, modelId: MODEL, embedding, quality: { score: 0.9, issues: [], metrics: {} }, box: { x: 0, y: 0, width: 1, height: 1 }, source: null });
      for (const variant of ['original', 'crop'] as const) {
        await faces.putImage(tx, { faceId, variant, mediaType: 'image/jpeg', keyId: 'k', nonce: Buffer.alloc(12, 1), ciphertext: Buffer.from(`cipher-${faceId}-${variant}`) });
      }
    });
    return faceId;
  }

  const knn = (embedding: number[]) => t.db.transaction((tx) => faces.nearestSubjects(tx, { embedding, modelId: MODEL, topK: 10 }));

  it('removes the subject, its templates and images, returns a receipt, and no search can return it afterwards', async () => {
    const victim = await createSubject();
    const other = await createSubject();
    const victimFaces = [await enrolTemplate(victim, vectors[0]!), await enrolTemplate(victim, vectors[1]!)];
    await enrolTemplate(other, vectors[2]!);
    expect((await knn(vectors[0]!))[0]!.subjectId).toBe(victim);
    // A past search that named the subject: a record of that search, which keeps its subject id but no biometric data.
    await seedSearch(t.db, { keyId: randomUUID(), organization: 'bank-a' }, { candidates: [{ faceIndex: 0, subjectId: victim }] });

    const res = await request(svc.app).delete(`/v1/subjects/${victim}`).set('Authorization', enroller).expect(200);
    expect(res.body).toEqual({ subjectId: victim, facesRemoved: 2, imagesRemoved: 4, erasedAt: expect.any(String), auditHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await request(svc.app).get(`/v1/subjects/${victim}`).set('Authorization', enroller)).status).toBe(404);

    for (const v of [vectors[0]!, vectors[1]!]) expect((await knn(v)).map((n) => n.subjectId)).not.toContain(victim);
    expect((await knn(vectors[0]!)).map((n) => n.subjectId)).toEqual([other]);

    const rows = await t.db.query<{ n: number }>(
      `SELECT (SELECT count(*)::int FROM subject WHERE id = $1)
            + (SELECT count(*)::int FROM face WHERE subject_id = $1 OR id = ANY($2::uuid[]))
            + (SELECT count(*)::int FROM face_image WHERE face_id = ANY($2::uuid[])) AS n`,
      [victim, victimFaces],
    );
    expect(rows.rows[0]!.n).toBe(0);

    const tombstone = (await request(svc.app).get(`/v1/audit/events?subjectId=${victim}&type=subject.deleted`).set('Authorization', auditor).expect(200)).body.items;
    expect(tombstone).toHaveLength(1);
    expect(tombstone[0].hash).toBe(res.body.auditHash);
  });

  it('leaves the erased vectors in no column of any table (every vector, jsonb, text and bytea column is scanned)', async () => {
    const victim = await createSubject();
    const v = vectors[3]!;
    await enrolTemplate(victim, v);
    await request(svc.app).delete(`/v1/subjects/${victim}`).set('Authorization', enroller).expect(200);

    const cols = await t.db.query<{ table_name: string; column_name: string; udt_name: string }>(
      `SELECT table_name, column_name, udt_name FROM information_schema.columns
        WHERE table_schema = 'public' AND udt_name IN ('vector', 'jsonb', 'text', 'bytea', '_float4', '_float8')`,
    );
    expect(cols.rows.some((c) => c.udt_name === 'vector')).toBe(true);
    // The vector's text form and a distinctive component (as stored by pgvector: float4, shortest form) must appear nowhere.
    const needles = [toVectorParam(v), String(Math.fround(v[0]!)).slice(0, 10), String(v[0]!).slice(0, 10)];
    for (const c of cols.rows) {
      for (const needle of needles) {
        const r = await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${JSON.stringify(c.table_name)} WHERE position($1 in ${c.udt_name === 'bytea' ? `encode(${JSON.stringify(c.column_name)}, 'escape')` : `${JSON.stringify(c.column_name)}::text`}) > 0`,
          [needle],
        );
        expect({ table: c.table_name, column: c.column_name, needle, n: r.rows[0]!.n }).toEqual({ table: c.table_name, column: c.column_name, needle, n: 0 });
      }
    }
    const exact = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM face WHERE vector_dims(embedding) = 128 AND embedding <=> $1::vector < 1e-6', [toVectorParam(v)]);
    expect(exact.rows[0]!.n).toBe(0);
  });

  it('lists subjects past their review date with due=true', async () => {
    const overdue = await createSubject({ displayName: 'Overdue', reviewBy: '2020-01-31' });
    const future = await createSubject({ displayName: 'Future', reviewBy: '2999-12-31' });
    const none = await createSubject({ displayName: 'No date' });
    const due = await request(svc.app).get('/v1/subjects?due=true&limit=200').set('Authorization', enroller).expect(200);
    const ids = due.body.items.map((s: { id: string }) => s.id);
    expect(ids).toContain(overdue);
    expect(ids).not.toContain(future);
    expect(ids).not.toContain(none);
    expect(due.body.items.every((s: { reviewBy: string | null }) => s.reviewBy !== null && s.reviewBy < new Date().toISOString().slice(0, 10))).toBe(true);
    const all = await request(svc.app).get('/v1/subjects?limit=200').set('Authorization', enroller).expect(200);
    expect(all.body.items.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining([overdue, future, none]));
  });
});
