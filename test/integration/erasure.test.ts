import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createFaceRepo } from '../../src/modules/gallery/face.repo';
import { toVectorParam } from '../../src/platform/db/db';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { seededUnitVectors } from '../helpers/vectors';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';
import { textHmac } from '../../src/modules/audit/audit.model';
import { REDACTED } from '../../src/modules/oversight/redaction';

/**
 * Templates are inserted through the face repository where only vectors matter; the name test enrols, searches, reviews and
 * reports through the API with a stand-in engine (the model is not what erasure is about).
 */
describe.each(backends())('erasure and governance on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let enroller: string;
  let auditor: string;
  let searcher: string;
  let reviewer: string;
  let fiuReviewer: string;
  const faces = createFaceRepo();
  const MODEL = 'test-model';
  const vectors = seededUnitVectors(6, 128, 99);

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv(), engine: bytesFaceEngine() });
    await svc.startEngine();
    enroller = (await svc.key(['enroller'], 'fiu')).auth;
    auditor = (await svc.key(['auditor'], '*')).auth;
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    reviewer = (await svc.key(['reviewer'], 'bank-a')).auth;
    fiuReviewer = (await svc.key(['reviewer'], 'fiu')).auth;
    await svc.watchlist('fiu', 'wl', [{ organization: 'bank-a', access: 'search' }]);
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

  const knn = (embedding: number[]) =>
    t.db.transaction((tx) => faces.nearestSubjects(tx, { embedding, modelId: MODEL, topK: 10, scope: { organization: 'fiu', mode: 'investigative', at: new Date() } }));

  it('removes the subject, its templates and images, returns a receipt, and no search can return it afterwards', async () => {
    const victim = await createSubject();
    const other = await createSubject();
    const victimFaces = [await enrolTemplate(victim, vectors[0]!), await enrolTemplate(victim, vectors[1]!)];
    await enrolTemplate(other, vectors[2]!);
    expect((await knn(vectors[0]!))[0]!.subjectId).toBe(victim);

    const res = await request(svc.app).delete(`/v1/subjects/${victim}`).set('Authorization', enroller).expect(200);
    expect(res.body).toEqual({
      subjectId: victim,
      facesRemoved: 2,
      imagesRemoved: 4,
      textRedacted: { searches: 0, reviews: 0, notices: 0, federationRequests: 0, auditTexts: 0 },
      erasedAt: expect.any(String),
      auditHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
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

  it('leaves the name, notes and other free text in no table and no audit event; stored searches, reports and notices show the subject as erased', async () => {
    const NAME = 'Zebulon Qwerty-Canary';
    const NOTES = 'canary notes: met at the harbour, 7q3x9';
    const LEGAL = 'warrant naming Zebulon Qwerty-Canary';
    const photo = await seededPng(4242);
    const victim = await createSubject({ displayName: NAME, notes: NOTES, legalBasis: LEGAL, caseRef: 'CANARY-CASE-55', externalRef: 'CANARY-EXT-55' });
    await request(svc.app).post(`/v1/subjects/${victim}/faces`).set('Authorization', enroller).attach('image', photo, 'f.jpg').field('source', `photo of ${NAME} from CANARY-SRC`).expect(201);
    await request(svc.app).patch(`/v1/subjects/${victim}`).set('Authorization', enroller).send({ notes: `${NOTES} (updated)` }).expect(200);

    // bank-a searches the FIU's shared watchlist: the candidate carries the name when returned and read, and the FIU gets a notice.
    const search = await request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', photo, 'p.jpg')
      .field('purpose', 'onboarding check').field('caseRef', 'KYC-9').expect(200);
    const searchId = search.body.searchId as string;
    expect(search.body.faces[0].candidates[0]).toMatchObject({ subjectId: victim, displayName: NAME, watchlist: 'wl' });
    await request(svc.app).post(`/v1/searches/${searchId}/reviews`).set('Authorization', reviewer)
      .send({ faceIndex: 0, subjectId: victim, decision: 'confirmed', rationale: 'same face' }).expect(201);
    expect((await request(svc.app).get(`/v1/searches/${searchId}/report`).set('Authorization', reviewer).expect(200)).body.candidates[0].displayName).toBe(NAME);
    const notices = (await request(svc.app).get('/v1/notifications').set('Authorization', fiuReviewer).expect(200)).body.items;
    expect(notices).toEqual([expect.objectContaining({ subjectId: victim, searchId, searchingOrganization: 'bank-a' })]);

    await request(svc.app).delete(`/v1/subjects/${victim}`).set('Authorization', enroller).expect(200);

    const after = (await request(svc.app).get(`/v1/searches/${searchId}`).set('Authorization', reviewer).expect(200)).body;
    expect(after.faces[0].candidates[0]).toMatchObject({ subjectId: victim, displayName: null, erased: true });
    const report = await request(svc.app).get(`/v1/searches/${searchId}/report?format=html`).set('Authorization', reviewer).expect(200);
    expect(report.text).toContain('(erased)');
    expect((await request(svc.app).get('/v1/notifications').set('Authorization', fiuReviewer).expect(200)).body.items[0].subjectId).toBe(victim);

    const needles = [NAME, 'Zebulon', 'Qwerty-Canary', NOTES, '7q3x9', LEGAL, 'CANARY-CASE-55', 'CANARY-EXT-55', 'CANARY-SRC'];
    const cols = await t.db.query<{ table_name: string; column_name: string; udt_name: string }>(
      `SELECT table_name, column_name, udt_name FROM information_schema.columns
        WHERE table_schema = 'public' AND udt_name IN ('jsonb', 'json', 'text', 'varchar', 'bpchar', 'bytea', '_text')`,
    );
    expect(cols.rows.map((c) => c.table_name)).toEqual(expect.arrayContaining(['search', 'audit_event', 'hit_notice', 'review', 'subject']));
    for (const c of cols.rows) {
      const expr = c.udt_name === 'bytea' ? `encode(${JSON.stringify(c.column_name)}, 'escape')` : `${JSON.stringify(c.column_name)}::text`;
      for (const needle of needles) {
        const r = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${JSON.stringify(c.table_name)} WHERE position($1 in ${expr}) > 0`, [needle]);
        expect({ table: c.table_name, column: c.column_name, needle, n: r.rows[0]!.n }).toEqual({ table: c.table_name, column: c.column_name, needle, n: 0 });
      }
    }
    const exported = (await request(svc.app).get('/v1/audit/export').set('Authorization', auditor).buffer(true).parse((res, cb) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => cb(null, data));
    })).body as string;
    expect(exported).toContain(victim);
    for (const needle of needles) expect({ needle, inExport: exported.includes(needle) }).toEqual({ needle, inExport: false });
  });

  /**
   * `needle` as a whole word (case-insensitive regular expression): not a letter or digit on either side. Random material in
   * base64 (an API key's scrypt salt and hash, salts, signatures) holds any four letters now and then; the CI once found
   * "alex" inside an api_key.secret_hash. A name in a sentence, a case reference or JSON is still found.
   */
  const asWord = (needle: string) => `(^|[^a-z0-9])${needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^a-z0-9]|$)`;

  /** Every text, jsonb and bytea column of the database holding `needle` as a word (case-insensitive): [{table, column, n}] with n > 0. */
  async function columnsHolding(needle: string) {
    const cols = await t.db.query<{ table_name: string; column_name: string; udt_name: string }>(
      `SELECT table_name, column_name, udt_name FROM information_schema.columns
        WHERE table_schema = 'public' AND udt_name IN ('jsonb', 'json', 'text', 'varchar', 'bpchar', 'bytea', '_text')`,
    );
    const found: Array<{ table: string; column: string; n: number }> = [];
    for (const c of cols.rows) {
      const expr = c.udt_name === 'bytea' ? `encode(${JSON.stringify(c.column_name)}, 'escape')` : `${JSON.stringify(c.column_name)}::text`;
      const r = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${JSON.stringify(c.table_name)} WHERE ${expr} ~* $1`, [asWord(needle)]);
      if (r.rows[0]!.n > 0) found.push({ table: c.table_name, column: c.column_name, n: r.rows[0]!.n });
    }
    return found;
  }

  it("redacts the subject's name from the purpose, case reference, rationale and notice of the searches it touched; the chain keeps HMACs and still verifies", async () => {
    const NAME = 'Alex Example';
    const REF = 'EXT-ALEX-77';
    const photo = await seededPng(7777);
    const alex = await createSubject({ displayName: NAME, externalRef: REF });
    await request(svc.app).post(`/v1/subjects/${alex}/faces`).set('Authorization', enroller).attach('image', photo, 'f.jpg').expect(201);

    // One search names him (in another case: the text folds case and spacing), one does not; both return him.
    const purpose = 'Card fraud: is this ALEX   example?';
    const caseRef = `KYC-${REF.toLowerCase()}`;
    const naming = await request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', photo, 'p.jpg')
      .field('purpose', purpose).field('caseRef', caseRef).expect(200);
    const plain = await request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', photo, 'p.jpg')
      .field('purpose', 'routine onboarding check').field('caseRef', 'KYC-ROUTINE-1').expect(200);
    for (const s of [naming, plain]) expect(s.body.faces[0].candidates[0]).toMatchObject({ subjectId: alex, displayName: NAME });
    const searchId = naming.body.searchId as string;
    const rationale = 'Same scar as on the enrolment photo of Alex Example';
    await request(svc.app).post(`/v1/searches/${searchId}/reviews`).set('Authorization', reviewer)
      .send({ faceIndex: 0, subjectId: alex, decision: 'confirmed', rationale }).expect(201);
    const notices = (await request(svc.app).get('/v1/notifications?limit=200').set('Authorization', fiuReviewer).expect(200)).body.items;
    expect(notices.find((n: { searchId: string }) => n.searchId === searchId)).toMatchObject({ subjectId: alex, purpose, caseRef });

    // The chain holds HMACs of what was sent, keyed with the salt of the event's audit_text row; not the text.
    const events = await t.db.query<{ seq: string; type: string; payload: Record<string, unknown>; salt: string; purpose: string | null; rationale: string | null }>(
      `SELECT e.seq, e.type, e.payload, t.salt, t.purpose, t.rationale FROM audit_event e JOIN audit_text t ON t.seq = e.seq
        WHERE e.search_id = $1 ORDER BY e.seq`,
      [searchId],
    );
    const run = events.rows.find((e) => e.type === 'search.run')!;
    expect(run.payload).not.toHaveProperty('purpose');
    expect(run.payload.purposeHmac).toBe(textHmac(run.salt, purpose));
    expect(run.payload.caseRefHmac).toBe(textHmac(run.salt, caseRef));
    expect(run.purpose).toBe(purpose);
    const recorded = events.rows.find((e) => e.type === 'review.recorded')!;
    expect(recorded.payload.rationaleHmac).toBe(textHmac(recorded.salt, rationale));
    expect(JSON.stringify(events.rows.map((e) => e.payload)).toLowerCase()).not.toContain('alex');

    // The probe finds him before the erasure (a search's purpose, a review's rationale), so its empty answer after it means something.
    expect(await columnsHolding('alex')).toEqual(expect.arrayContaining([
      expect.objectContaining({ table: 'search', column: 'purpose' }), expect.objectContaining({ table: 'review', column: 'rationale' }),
    ]));
    const erased = await request(svc.app).delete(`/v1/subjects/${alex}`).set('Authorization', enroller).expect(200);
    expect(erased.body.textRedacted).toEqual({ searches: 1, reviews: 1, notices: 1, federationRequests: 0, auditTexts: 2 });

    for (const needle of [NAME, REF, 'alex']) expect({ needle, columns: await columnsHolding(needle) }).toEqual({ needle, columns: [] });
    const rows = await t.db.query<{ purpose: string; case_ref: string; params: { purpose: string; caseRef: string } }>('SELECT purpose, case_ref, params FROM search WHERE id = $1', [searchId]);
    expect(rows.rows[0]).toMatchObject({ purpose: REDACTED, case_ref: REDACTED, params: { purpose: REDACTED, caseRef: REDACTED } });
    expect((await t.db.query<{ rationale: string }>('SELECT rationale FROM review WHERE search_id = $1', [searchId])).rows).toEqual([{ rationale: REDACTED }]);
    // The salt went with the text: the HMAC in the chain now confirms no guess. The search that did not name him is untouched.
    expect((await t.db.query('SELECT salt, purpose, rationale FROM audit_text WHERE seq = ANY($1::bigint[]) ORDER BY seq', [events.rows.map((e) => e.seq)])).rows)
      .toEqual([{ salt: null, purpose: REDACTED, rationale: null }, { salt: null, purpose: null, rationale: REDACTED }]);
    const kept = (await request(svc.app).get(`/v1/searches/${plain.body.searchId}`).set('Authorization', searcher).expect(200)).body;
    expect(kept).toMatchObject({ purpose: 'routine onboarding check', caseRef: 'KYC-ROUTINE-1' });

    const report = (await request(svc.app).get(`/v1/searches/${searchId}/report`).set('Authorization', reviewer).expect(200)).text;
    const html = (await request(svc.app).get(`/v1/searches/${searchId}/report?format=html`).set('Authorization', reviewer).expect(200)).text;
    const timeline = (await request(svc.app).get(`/v1/audit/events?searchId=${searchId}`).set('Authorization', auditor).expect(200)).text;
    const inbox = (await request(svc.app).get('/v1/notifications?limit=200').set('Authorization', fiuReviewer).expect(200)).text;
    for (const [view, text] of Object.entries({ report, html, timeline, inbox })) expect({ view, named: /alex/i.test(text) }).toEqual({ view, named: false });
    expect(report).toContain(REDACTED);
    expect((await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor).expect(200)).body).toMatchObject({ ok: true });
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
