import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { fixedFaceEngine } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * 200 searches at once through the HTTP API on a real database, then the audit chain is verified: every search wrote its
 * result and its audit event in one transaction, and the appends never forked. The face engine here is a stand-in that
 * returns one fixed face per image (real inference would queue 200 requests behind two workers and answer 503 OVERLOADED,
 * which bad-input.test.ts covers); everything after the engine — kNN, storage, audit — is the real service.
 */
describe.each(backends())('200 concurrent searches on $name', (backend) => {
  let t: TestDb;
  afterAll(() => t?.drop());

  it('stores 200 searches, appends 200 gap-free audit events, and the chain verifies', async () => {
    t = await backend.open();
    const svc = await startService(t.db, { engine: fixedFaceEngine(), env: serviceEnv() });
    await svc.startEngine();
    const searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    const auditor = (await svc.key(['auditor'], '*')).auth;
    const before = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event')).rows[0]!.n;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', Buffer.from(`probe ${i}`), 'p.jpg')
          .field('purpose', 'load').field('caseRef', `C-${i}`),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(200).fill(200));
    const searches = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM search');
    expect(searches.rows[0]!.n).toBe(200);
    const events = await t.db.query<{ n: number; lo: number; hi: number }>(
      "SELECT count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi FROM audit_event WHERE seq > $1", [before]);
    expect(events.rows[0]).toEqual({ n: 200, lo: before + 1, hi: before + 200 });
    const v = (await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor).expect(200)).body;
    expect(v).toMatchObject({ ok: true, headSeq: before + 200 });
  });
});

describe.each(backends())('template length on $name', (backend) => {
  it('refuses a template whose length is not the model\'s (500, nothing stored)', async () => {
    const t = await backend.open();
    try {
      const right = fixedFaceEngine();
      const wrong = { ...right, model: right.model, analyze: async (img: Buffer) => {
        const r = await right.analyze(img);
        return { ...r, faces: r.faces.map((f) => ({ ...f, embedding: f.embedding.slice(0, 128) })) };
      } };
      const svc = await startService(t.db, { engine: wrong, env: serviceEnv() });
      await svc.startEngine();
      const searcher = (await svc.key(['searcher'], 'bank-a')).auth;
      const res = await request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', Buffer.from('probe'), 'p.jpg')
        .field('purpose', 'p').field('caseRef', 'c');
      expect(res.status).toBe(500);
      expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM search')).rows[0]!.n).toBe(0);
    } finally {
      await t.drop();
    }
  });
});
