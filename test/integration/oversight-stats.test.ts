import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { scriptedEngine } from '../helpers/fake-engine';
import { scriptedGallery, serviceEnv } from './oversight.fixtures';

describe.each(backends())('oversight statistics on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let auditor: string;
  let a1: { id: string; auth: string };
  let a2: { id: string; auth: string };
  let b1: { id: string; auth: string };
  const day = (d: number) => new Date(Date.UTC(2026, 0, d, 12)).toISOString();
  // The time the search service stamps on each search (set before each one below).
  let searchTime = new Date(day(1));
  const on = (d: number) => {
    searchTime = new Date(day(d));
  };

  beforeAll(async () => {
    t = await backend.open();
    const fake = scriptedEngine();
    svc = await startService(t.db, { env: serviceEnv(), engine: fake.engine, now: () => searchTime });
    await svc.startEngine();
    const gallery = scriptedGallery(svc.app, fake);
    auditor = (await svc.key(['auditor'], '*')).auth;
    a1 = await svc.key(['searcher'], 'bank-a');
    a2 = await svc.key(['searcher'], 'bank-a');
    b1 = await svc.key(['searcher'], 'bank-b');
    const r1 = (await svc.key(['reviewer'], 'bank-a')).auth;
    const r2 = (await svc.key(['reviewer'], 'bank-a')).auth;
    const enroller = (await svc.key(['enroller'], 'bank-a')).auth;
    // bank-a's gallery: x (identity 1) and y (identity 2) on `xy`, which bank-b may search; z (identity 3) on `z`.
    await svc.watchlist('bank-a', 'xy', [{ organization: 'bank-b', access: 'search' }]);
    await svc.watchlist('bank-a', 'z');
    const x = await gallery.enrol(enroller, { displayName: 'X', watchlist: 'xy' }, [1]);
    const y = await gallery.enrol(enroller, { displayName: 'Y', watchlist: 'xy' }, [2]);
    const z = await gallery.enrol(enroller, { displayName: 'Z', watchlist: 'z' }, [3]);
    // bank-a key a1: three investigative searches (2, 1, 0 candidates); a2: one screening search (1 candidate); bank-b: two searches.
    on(2);
    const s1 = await gallery.search(a1.auth, [1], { watchlists: 'xy', topK: 2 }); // x, then y as a weaker candidate
    on(3);
    const s2 = await gallery.search(a1.auth, [3], { topK: 1 }); // z
    on(4);
    await gallery.search(a1.auth, [99], { minSimilarity: 0.9 }); // nobody enrolled: no candidate
    on(5);
    await gallery.search(a2.auth, [1], { mode: 'screening' }); // x only: the others are below the screening threshold
    on(6);
    await gallery.search(b1.auth, [1], { topK: 1 }); // x, through bank-b's grant
    on(20);
    await gallery.verify(b1.auth, x, 99); // a verification that does not match
    const rv = (auth: string, id: string, subjectId: string, decision: string) =>
      request(svc.app).post(`/v1/searches/${id}/reviews`).set('Authorization', auth).send({ faceIndex: 0, subjectId, decision, rationale: 'r' }).expect(201);
    await rv(r1, s1, x, 'confirmed'); // s1/x confirmed by two keys
    await rv(r2, s1, x, 'confirmed');
    await rv(r1, s1, y, 'rejected'); // s1/y rejected
    await rv(r1, s2, z, 'confirmed'); // s2/z awaiting the second confirmation
  });
  afterAll(async () => {
    await svc?.close();
    await t?.drop();
  });

  const stats = async (auth: string, q = '') => (await request(svc.app).get(`/v1/oversight/stats${q}`).set('Authorization', auth).expect(200)).body;

  it('counts searches by organization, key and mode over the whole history', async () => {
    const st = await stats(auditor);
    expect(st.searchesByOrganization).toEqual([{ organization: 'bank-a', searches: 4 }, { organization: 'bank-b', searches: 2 }]);
    expect(st.searchesByMode).toEqual([
      { mode: 'investigative', searches: 4 },
      { mode: 'screening', searches: 1 },
      { mode: 'verify', searches: 1 },
    ]);
    expect(st.searchesByKey[0]).toEqual({ keyId: a1.id, organization: 'bank-a', label: 'test', searches: 3 });
    expect(st.topSearchers.map((k: { keyId: string; searches: number }) => k.searches)).toEqual([3, 2, 1]);
    expect(st.topSearchers[0].keyId).toBe(a1.id);
    expect(st.topSearchers.find((k: { keyId: string }) => k.keyId === b1.id).searches).toBe(2);
  });

  it('reports candidates returned, review outcomes and rates over reviewed candidates, and searches without review', async () => {
    const st = await stats(auditor);
    expect(st.candidates).toEqual({
      returned: 5,
      reviewed: 3,
      confirmed: 1,
      rejected: 1,
      awaitingSecondConfirmation: 1,
      disputed: 0,
      inconclusive: 0,
      pending: 2,
      confirmationRate: 0.3333,
      rejectionRate: 0.3333,
      disagreements: 0,
      disagreementRate: 0,
    });
    expect(st.timeToDecisionSeconds.median).toEqual(expect.any(Number));
    expect(st.searchesPerDay).toHaveLength(6);
    expect(st.searchesPerDay[0]).toEqual({ day: day(2).slice(0, 10), organization: 'bank-a', mode: 'investigative', searches: 1 });
    // 1:N searches without any review: the empty one, the screening one and bank-b's one; two of them have candidates.
    expect(st.searchesWithoutReview).toEqual({ total: 3, withCandidates: 2, humanReviewRequired: 2 });
  });

  it('cuts every figure by the [from, to) window on the search time', async () => {
    const st = await stats(auditor, `?from=${encodeURIComponent(day(3))}&to=${encodeURIComponent(day(6))}`);
    expect(st.searchesByOrganization).toEqual([{ organization: 'bank-a', searches: 3 }]);
    expect(st.candidates).toMatchObject({ returned: 2, reviewed: 1, awaitingSecondConfirmation: 1, confirmationRate: 0 });
  });

  it('limits an organization auditor to its own organization', async () => {
    const st = await stats((await svc.key(['auditor'], 'bank-b')).auth);
    expect(st.organization).toBe('bank-b');
    expect(st.searchesByOrganization).toEqual([{ organization: 'bank-b', searches: 2 }]);
    expect(st.candidates.returned).toBe(1);
    expect(JSON.stringify(st)).not.toContain(a1.id);
  });
});
