import request from 'supertest';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { fixedFaceEngine } from '../helpers/fake-engine';
import { sample } from '../helpers/fixtures';
import { auditLockHolder } from '../helpers/pg-locks';
import { serviceEnv } from './oversight.fixtures';

/**
 * Review state and gallery snapshots under real concurrency on PostgreSQL (PGlite has one connection, so nothing interleaves
 * there). Fixtures go through the real services: a subject enrolled through the API, searches run through the API (the face
 * engine is a stand-in returning one fixed face; everything after it is real).
 */
const postgres = backends().find((b) => b.name === 'postgres');
const describePg = postgres ? describe : describe.skip;

describePg('four-eyes and gallery snapshots under concurrency on postgres', () => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let searcher: string;
  let enroller: string;
  let auditor: string;
  const reviewers: string[] = [];

  beforeAll(async () => {
    t = await postgres!.open();
    svc = await startService(t.db, { engine: fixedFaceEngine(), env: serviceEnv() });
    await svc.startEngine();
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    enroller = (await svc.key(['enroller'], 'bank-a')).auth;
    auditor = (await svc.key(['auditor'], '*')).auth;
    for (let i = 0; i < 2; i++) reviewers.push((await svc.key(['reviewer'], 'bank-a')).auth);
    await svc.watchlist('bank-a', 'wl');
  });
  afterAll(() => t?.drop());

  const newSubject = async (): Promise<string> =>
    (await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
      .send({ displayName: 'Subject', category: 'fraud', watchlist: 'wl', legalBasis: 'test' }).expect(201)).body.id;
  const enrol = (subjectId: string) =>
    request(svc.app).post(`/v1/subjects/${subjectId}/faces`).set('Authorization', enroller).attach('image', sample(1), 'e.jpg');
  const search = (i: number) =>
    request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', Buffer.from(`probe ${i}`), 'p.jpg')
      .field('purpose', 'four-eyes').field('caseRef', `R-${i}`);

  it('two simultaneous confirmations by different reviewers end confirmed, and the audit trail says so (20 runs)', async () => {
    expect((await enrol(await newSubject())).status).toBe(201);
    for (let run = 0; run < 20; run++) {
      const s = (await search(run).expect(200)).body;
      const c = s.faces[0].candidates[0];
      const results = await Promise.all(reviewers.map((auth) =>
        request(svc.app).post(`/v1/searches/${s.searchId}/reviews`).set('Authorization', auth)
          .send({ faceIndex: 0, subjectId: c.subjectId, decision: 'confirmed', rationale: 'same scar' })));
      expect(results.map((r) => r.status)).toEqual([201, 201]);
      expect(results.map((r) => r.body.candidateReview.state).sort()).toEqual(['awaiting_second_confirmation', 'confirmed']);
      const events = (await request(svc.app).get(`/v1/audit/events?type=review.recorded&searchId=${s.searchId}`).set('Authorization', auditor)).body.items;
      expect(events.map((e: { payload: { stateAfter: string } }) => e.payload.stateAfter)).toEqual(['awaiting_second_confirmation', 'confirmed']);
      const stored = (await request(svc.app).get(`/v1/searches/${s.searchId}`).set('Authorization', searcher)).body;
      expect(stored.faces[0].candidates[0].review.state).toBe('confirmed');
    }
  });

  it('a search records the gallery state it searched: an enrolment committed before its snapshot is counted in it', async () => {
    const subjectId = await newSubject();
    const lock = await auditLockHolder(t.url!);
    let enrolled: request.Response;
    let searched: request.Response;
    try {
      // The enrolment queues for the audit lock first, then the search: the enrolment commits first, so the search's
      // snapshot (the chain position before its own event) includes that enrolment, and its template count must too.
      const e = enrol(subjectId).then((r) => (enrolled = r));
      await lock.waiters(1);
      const s = search(1000).then((r) => (searched = r));
      await lock.waiters(2);
      await lock.release();
      await Promise.all([e, s]);
    } finally {
      await lock.release();
    }
    expect(enrolled!.status).toBe(201);
    expect(searched!.status).toBe(200);
    const snapshotSeq = Number(searched!.body.gallery.snapshot.split(':')[0]);
    const r = await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_event WHERE type = 'face.enrolled' AND seq <= $1", [snapshotSeq]);
    expect(searched!.body.gallery.templates).toBe(r.rows[0]!.n);
    expect(searched!.body.faces[0].candidates).toHaveLength(r.rows[0]!.n);
  });
});
