import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * Per-watchlist and per-grant oversight figures, from searches, reviews and notices made through the real services: the FIU's
 * watchlist `ml` is screened by bank-a (screen grant) and searched by bank-c (search grant); bank-b holds no grant. bank-a's
 * candidate is confirmed by two people; bank-c's by one person with two keys, which the four-eyes rule counts once.
 */
describe.each(backends())('oversight of shared watchlists on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let ml: string;
  let grantA: string;
  let grantC: string;
  let grantD: string;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv(), engine: bytesFaceEngine() });
    await svc.startEngine();
    const fiu = { keyId: 'fiu-admin', roles: ['admin' as const], organization: 'fiu' };
    ml = await svc.watchlist('fiu', 'ml');
    await svc.watchlist('fiu', 'unshared');
    grantA = (await svc.grant('fiu', ml, { organization: 'bank-a', access: 'screen' })).id;
    grantC = (await svc.grant('fiu', ml, { organization: 'bank-c', access: 'search' })).id;
    // An offer bank-d never accepted: listed with its state, and it gave bank-d nothing.
    grantD = (await svc.watchlists.grant(fiu, ml, { organization: 'bank-d', access: 'search' })).id;
    const photo = await seededPng(11);
    const enroller = (await svc.key(['enroller'], 'fiu')).auth;
    const s = (await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'X', category: 'fraud', watchlist: 'ml', legalBasis: 'x' }).expect(201)).body;
    await request(svc.app).post(`/v1/subjects/${s.id}/faces`).set('Authorization', enroller).attach('image', photo, 'f.png').expect(201);

    const search = async (org: string, mode: string, image: Buffer) =>
      (await request(svc.app).post('/v1/searches').set('Authorization', (await svc.key(['searcher'], org)).auth).attach('image', image, 'p.png')
        .field('purpose', 'p').field('caseRef', 'c').field('mode', mode).expect(200)).body;
    const hitA = await search('bank-a', 'screening', photo);
    await search('bank-a', 'screening', await seededPng(12)); // a miss
    const hitC = await search('bank-c', 'investigative', photo);
    await search('bank-b', 'screening', photo); // no grant: not in scope
    await search('bank-d', 'investigative', photo); // a pending grant: not in scope either
    for (let i = 0; i < 2; i++) {
      await request(svc.app).post(`/v1/searches/${hitA.searchId}/reviews`).set('Authorization', (await svc.key(['reviewer'], 'bank-a')).auth)
        .send({ faceIndex: 0, subjectId: s.id, decision: 'confirmed', rationale: 'same person' }).expect(201);
    }
    // One person with two reviewer keys confirms bank-c's candidate twice: that is one confirmation, not four eyes.
    for (let i = 0; i < 2; i++) {
      await request(svc.app).post(`/v1/searches/${hitC.searchId}/reviews`).set('Authorization', (await svc.key(['reviewer'], 'bank-c', 'Ana Ruiz')).auth)
        .send({ faceIndex: 0, subjectId: s.id, decision: 'confirmed', rationale: 'same person' }).expect(201);
    }
  });
  afterAll(() => t.drop());

  const stats = async (org: string) => (await request(svc.app).get('/v1/oversight/stats').set('Authorization', (await svc.key(['auditor'], org)).auth).expect(200)).body;

  it('gives each watchlist its searches by partner, candidates, confirmations and hits, and each grant its share', async () => {
    for (const org of ['*', 'fiu']) {
      const st = await stats(org);
      const w = st.watchlists.find((x: { watchlistId: string }) => x.watchlistId === ml);
      expect(w).toEqual({
        watchlistId: ml,
        name: 'ml',
        organization: 'fiu',
        searches: 3,
        candidates: 2,
        confirmed: 1,
        hits: 2,
        byOrganization: [
          { organization: 'bank-a', searches: 2, candidates: 1, confirmed: 1, hits: 1 },
          { organization: 'bank-c', searches: 1, candidates: 1, confirmed: 0, hits: 1 },
        ],
      });
      expect(st.watchlists.find((x: { name: string }) => x.name === 'unshared')).toMatchObject({ searches: 0, candidates: 0, hits: 0, byOrganization: [] });
      const answered = { acceptedAt: expect.any(String), declinedAt: null, revokedAt: null };
      expect(st.grants).toEqual([
        { grantId: grantA, watchlistId: ml, organization: 'bank-a', access: 'screen', state: 'active', expiresAt: null, ...answered, searches: 2, candidates: 1, confirmed: 1, hits: 1 },
        { grantId: grantC, watchlistId: ml, organization: 'bank-c', access: 'search', state: 'active', expiresAt: null, ...answered, searches: 1, candidates: 1, confirmed: 0, hits: 1 },
        { grantId: grantD, watchlistId: ml, organization: 'bank-d', access: 'search', state: 'pending', expiresAt: null, acceptedAt: null, declinedAt: null, revokedAt: null, searches: 0, candidates: 0, confirmed: 0, hits: 0 },
      ]);
    }
  });

  it("shows an organization's auditor only the watchlists its organization owns", async () => {
    const st = await stats('bank-a');
    expect(st.watchlists).toEqual([]);
    expect(st.grants).toEqual([]);
  });
});
