import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { scriptedEngine } from '../helpers/fake-engine';
import { scriptedGallery, serviceEnv } from './oversight.fixtures';

type Svc = Awaited<ReturnType<typeof startService>>;
interface Candidate { rank: number; subjectId: string; watchlistId: string }
interface Face { faceIndex: number; box: unknown; quality: unknown; candidates: Candidate[] }

/**
 * The SQL that reads inside stored search results (review queue, oversight statistics: the SQL fragments of modules/search/search.model.ts) against
 * results the search service wrote, and against a row stored before results carried a `version` (read as version 1).
 * Only the face engine is scripted; searches, storage, statistics and the queue are the real service.
 */
describe.each(backends())('stored search results read through their SQL paths on $name', (backend) => {
  let t: TestDb;
  let svc: Svc;
  let gallery: ReturnType<typeof scriptedGallery>;
  let searcher: string;
  let reviewer: string;
  let auditor: string;
  let wl: string;

  beforeAll(async () => {
    t = await backend.open();
    const fake = scriptedEngine();
    svc = await startService(t.db, { env: serviceEnv(), engine: fake.engine });
    await svc.startEngine();
    gallery = scriptedGallery(svc.app, fake);
    searcher = (await svc.key(['searcher'], 'bank-a', 'Sam Searcher')).auth;
    reviewer = (await svc.key(['reviewer'], 'bank-a', 'Rob Reviewer')).auth;
    auditor = (await svc.key(['auditor'], '*', 'Audrey Auditor')).auth;
    const enroller = (await svc.key(['enroller'], 'bank-a', 'Erin Enroller')).auth;
    wl = await svc.watchlist('bank-a', 'wl');
    await gallery.enrol(enroller, { displayName: 'X', watchlist: 'wl' }, [1]);
    await gallery.enrol(enroller, { displayName: 'Y', watchlist: 'wl' }, [2]);
  });
  afterAll(async () => {
    await svc?.close();
    await t?.drop();
  });

  const get = async (id: string) => (await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', auditor).expect(200)).body;
  const stats = async () => (await request(svc.app).get('/v1/oversight/stats').set('Authorization', auditor).expect(200)).body;
  const queue = async () => (await request(svc.app).get('/v1/reviews/queue?limit=200').set('Authorization', reviewer).expect(200)).body.items;
  /** What the queue says of one search's candidates, in the stored result's own terms. */
  const queued = async (id: string) =>
    (await queue())
      .filter((q: { searchId: string }) => q.searchId === id)
      .map((q: { faceIndex: number; rank: number; face: unknown; candidate: Candidate }) => ({ faceIndex: q.faceIndex, rank: q.rank, face: q.face, subjectId: q.candidate.subjectId, watchlistId: q.candidate.watchlistId }));
  const candidatesOf = (faces: Face[]) =>
    faces.flatMap((f) => f.candidates.map((c) => ({ faceIndex: f.faceIndex, rank: c.rank, face: { box: f.box, quality: f.quality }, subjectId: c.subjectId, watchlistId: c.watchlistId })));

  it("reads faces, candidates, subject and watchlist ids, ranks and the review flag of a result the service wrote", async () => {
    const before = await stats();
    // Two probe faces (X, Y), each with both subjects as candidates: four candidates.
    const id = await gallery.search(searcher, [1, 2], { topK: 2 });
    const stored = await get(id);
    expect(candidatesOf(stored.faces)).toHaveLength(4);

    // The review queue: face index, rank, box/quality, subject and watchlist of every candidate, as stored.
    expect(await queued(id)).toEqual(candidatesOf(stored.faces));

    // Statistics: candidates returned, a search with candidates, needing review, not reviewed; per-watchlist candidates.
    const after = await stats();
    expect(after.candidates.returned - before.candidates.returned).toBe(4);
    expect(after.searchesWithoutReview.withCandidates - before.searchesWithoutReview.withCandidates).toBe(1);
    expect(after.searchesWithoutReview.humanReviewRequired - before.searchesWithoutReview.humanReviewRequired).toBe(1);
    const ofWl = (s: { watchlists: Array<{ watchlistId: string; candidates: number }> }) => s.watchlists.find((w) => w.watchlistId === wl)!.candidates;
    expect(ofWl(after) - ofWl(before)).toBe(4);

    // A decision joins on (search, faceIndex, subjectId) read from the result: it leaves the queue and counts as reviewed.
    const decided = stored.faces[1].candidates[0];
    await request(svc.app).post(`/v1/searches/${id}/reviews`).set('Authorization', reviewer)
      .send({ faceIndex: 1, subjectId: decided.subjectId, decision: 'rejected', rationale: 'different ears' }).expect(201);
    expect((await queued(id)).map((c: { faceIndex: number; subjectId: string }) => `${c.faceIndex}:${c.subjectId}`)).not.toContain(`1:${decided.subjectId}`);
    expect(await queued(id)).toHaveLength(3);
    const reviewed = await stats();
    expect(reviewed.candidates.rejected - after.candidates.rejected).toBe(1);
    expect(reviewed.searchesWithoutReview.total - after.searchesWithoutReview.total).toBe(-1);
  });

  it('reads a row stored before results carried a version exactly as the same row with version 1', async () => {
    const id = await gallery.search(searcher, [1, 2], { topK: 2 });
    const seen = async () => ({
      search: await get(id),
      queue: await queued(id),
      stats: await stats(),
      report: (await request(svc.app).get(`/v1/searches/${id}/report`).set('Authorization', auditor).expect(200)).body,
      list: (await request(svc.app).get('/v1/searches').set('Authorization', auditor).expect(200)).body.items.find((s: { searchId: string }) => s.searchId === id),
    });
    const withVersion = await seen();
    expect(withVersion.queue).toHaveLength(4);

    await t.db.query(`UPDATE search SET result = result - 'version' WHERE id = $1`, [id]);
    const raw = await t.db.query<{ has: boolean }>(`SELECT result ? 'version' AS has FROM search WHERE id = $1`, [id]);
    expect(raw.rows[0]!.has).toBe(false);

    const without = await seen();
    // (each case file read is itself audited, so the second report lists the first one's read.case_file event: set aside)
    const report = (r: { generatedAt: string; audit: { events: Array<{ type: string }> } }) => ({
      ...r,
      generatedAt: null,
      audit: { ...r.audit, events: r.audit.events.filter((e) => !e.type.startsWith('read.')) },
    });
    expect({ ...without, report: report(without.report) }).toEqual({ ...withVersion, report: report(withVersion.report) });
    // And it can still be reviewed (the review service reads its candidates through the same schema).
    await request(svc.app).post(`/v1/searches/${id}/reviews`).set('Authorization', reviewer)
      .send({ faceIndex: 0, subjectId: withVersion.search.faces[0].candidates[0].subjectId, decision: 'confirmed', rationale: 'same scar' }).expect(201);
    expect(await queued(id)).toHaveLength(3);
  });
});
