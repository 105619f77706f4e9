import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * What a grant, a blind reviewer and an auditor see (issue 27, items 1, 3, 4, 5), through the real services with the bytes
 * stand-in engine (the same photo is the same face): `fiu` owns watchlist `ml` with subject "Subject M"; `bank-s` holds a screen
 * grant, `bank-g` a search grant.
 */
describe.each(backends())('grants, blind readers and read audit on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let ml: string;
  let subjectId: string;
  let faceId: string;
  let photo: Buffer;
  const fiu = { keyId: 'fiu-admin', roles: ['admin' as const], organization: 'fiu' };
  const NAME = 'Subject M';
  const auth = async (roles: Parameters<typeof svc.key>[0], org: string, holder?: string) => (await svc.key(roles, org, holder)).auth;
  const search = async (key: string, mode: string) =>
    (await request(svc.app).post('/v1/searches').set('Authorization', key).attach('image', photo, 'p.png').field('purpose', 'p').field('caseRef', 'c').field('mode', mode).expect(200)).body;
  const get = (key: string, path: string) => request(svc.app).get(path).set('Authorization', key);

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv(), engine: bytesFaceEngine() });
    await svc.startEngine();
    ml = await svc.watchlist('fiu', 'ml', [{ organization: 'bank-s', access: 'screen' }]);
    photo = await seededPng(21);
    const enroller = await auth(['enroller'], 'fiu');
    subjectId = (await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: NAME, category: 'fraud', watchlist: 'ml', legalBasis: 'x', notes: 'private notes' }).expect(201)).body.id;
    faceId = (await request(svc.app).post(`/v1/subjects/${subjectId}/faces`).set('Authorization', enroller).attach('image', photo, 'f.png').expect(201)).body.faceId;
  });
  afterAll(() => t.drop());

  it('answers a screen grantee a hit and the owner’s reference only, and no crop, in the answer, the stored search and the queue', async () => {
    const searcher = await auth(['searcher'], 'bank-s');
    const answer = await search(searcher, 'screening');
    const stored = (await get(searcher, `/v1/searches/${answer.searchId}`).expect(200)).body;
    const queue = (await get(await auth(['reviewer'], 'bank-s'), '/v1/reviews/queue').expect(200)).body.items.map((i: { candidate: unknown }) => i.candidate);
    for (const c of [answer.faces[0].candidates[0], stored.faces[0].candidates[0], queue[0]]) {
      // (the stored search adds the searching organization's own review summary)
      const { review: _own, ...shown } = c;
      expect(shown).toEqual({ rank: 1, subjectId, watchlistId: ml, displayName: null, watchlist: null, withheld: 'screen' });
    }
    for (const body of [answer, stored]) expect(JSON.stringify(body)).not.toContain(NAME);
    await get(searcher, `/v1/searches/${answer.searchId}/faces/0/candidates/1/image`).expect(404);
    // The owner and `*` read the same stored search in full (the owner through its notice; `*` as auditor).
    const star = (await get(await auth(['auditor'], '*'), `/v1/searches/${answer.searchId}`).expect(200)).body;
    expect(star.faces[0].candidates[0]).toMatchObject({ displayName: NAME, faceId, similarity: 1 });
  });

  it('hides the name and crop of a candidate from a grantee as soon as the grant is revoked (even after a rename)', async () => {
    const grant = await svc.grant('fiu', ml, { organization: 'bank-g', access: 'search' });
    const searcher = await auth(['searcher'], 'bank-g');
    const reviewer = await auth(['reviewer'], 'bank-g');
    const answer = await search(searcher, 'investigative');
    expect(answer.faces[0].candidates[0]).toMatchObject({ subjectId, displayName: NAME, faceId });
    await get(searcher, `/v1/searches/${answer.searchId}/faces/0/candidates/1/image`).expect(200);
    // The crop read names whose data it is: fiu's subject, read by bank-g in bank-g's own search.
    const star0 = await auth(['auditor'], '*');
    const cropRead = (await get(star0, `/v1/audit/events?type=read.candidate_face&searchId=${answer.searchId}`).expect(200)).body.items;
    expect(cropRead).toEqual([expect.objectContaining({ actor: expect.objectContaining({ organization: 'bank-g' }), subjectIds: [subjectId], payload: expect.objectContaining({ owners: ['fiu'], watchlistIds: [ml], faceId }) })]);
    expect((await get(reviewer, '/v1/reviews/queue').expect(200)).body.items[0].candidate.displayName).toBe(NAME);
    // So does bank-g's case file of that search: both organizations are owners of what it shows.
    await get(searcher, `/v1/searches/${answer.searchId}/report`).expect(200);
    const caseFile = (await get(star0, `/v1/audit/events?type=read.case_file&searchId=${answer.searchId}`).expect(200)).body.items;
    expect(caseFile).toEqual([expect.objectContaining({ actor: expect.objectContaining({ organization: 'bank-g' }), subjectIds: [subjectId], payload: { format: 'json', owners: ['bank-g', 'fiu'], candidates: answer.faces[0].candidates.length } })]);

    await request(svc.app).delete(`/v1/watchlists/${ml}/grants/${grant.id}`).set('Authorization', await auth(['admin'], 'fiu')).expect(200);
    await request(svc.app).patch(`/v1/subjects/${subjectId}`).set('Authorization', await auth(['enroller'], 'fiu')).send({ displayName: 'Renamed M' }).expect(200);

    const after = (await get(searcher, `/v1/searches/${answer.searchId}`).expect(200)).body;
    const { review: _own, ...shown } = after.faces[0].candidates[0];
    expect(shown).toEqual({ rank: 1, subjectId, watchlistId: ml, displayName: null, watchlist: null, withheld: 'no_access' });
    await get(searcher, `/v1/searches/${answer.searchId}/faces/0/candidates/1/image`).expect(404);
    const queued = (await get(reviewer, '/v1/reviews/queue').expect(200)).body.items[0].candidate;
    expect(queued.withheld).toBe('no_access');
    const report = await get(searcher, `/v1/searches/${answer.searchId}/report?format=html`).expect(200);
    for (const text of [JSON.stringify(after), JSON.stringify(queued), report.text]) {
      expect(text).not.toContain('Renamed M');
      expect(text).not.toContain(NAME);
    }
    // The owner sees the new name in the same stored search.
    const owner = (await get(await auth(['auditor'], '*'), `/v1/searches/${answer.searchId}`).expect(200)).body;
    expect(owner.faces[0].candidates[0].displayName).toBe('Renamed M');
    await request(svc.app).patch(`/v1/subjects/${subjectId}`).set('Authorization', await auth(['enroller'], 'fiu')).send({ displayName: NAME }).expect(200);
  });

  it('gives a pending grant no access: no hit, no screening answer, no notice to the owner with the purpose, until its admin accepts', async () => {
    const offered = await svc.watchlists.grant(fiu, ml, { organization: 'bank-p', access: 'screen' });
    expect(offered.state).toBe('pending');
    const searcher = await auth(['searcher'], 'bank-p');
    const notices = async () => (await get(await auth(['reviewer'], 'fiu'), '/v1/notifications?limit=200').expect(200)).body.items;
    const screenFor = async (caseRef: string) =>
      (await request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', photo, 'p.png').field('purpose', 'PENDING-PURPOSE').field('caseRef', caseRef).field('mode', 'screening').expect(200)).body;
    const pending = await screenFor('CASE-PENDING');
    expect(pending.faces[0].candidates).toEqual([]);
    expect(JSON.stringify(await notices())).not.toMatch(/PENDING-PURPOSE|CASE-PENDING/);
    await request(svc.app).post('/v1/verify').set('Authorization', searcher).attach('image', photo, 'p.png').field('subjectId', subjectId).field('purpose', 'p').field('caseRef', 'c').expect(404);

    await request(svc.app).post(`/v1/grants/${offered.id}/accept`).set('Authorization', await auth(['admin'], 'bank-p')).expect(200);
    const active = await screenFor('CASE-ACTIVE');
    expect(active.faces[0].candidates[0]).toMatchObject({ subjectId, withheld: 'screen' });
    expect((await notices()).filter((n: { searchId: string }) => n.searchId === active.searchId)).toEqual([expect.objectContaining({ searchingOrganization: 'bank-p', purpose: 'PENDING-PURPOSE', caseRef: 'CASE-ACTIVE' })]);
    await svc.watchlists.revoke(fiu, ml, offered.id);
  });

  it('gives a blind reviewer no decision of another reviewer in the case file (JSON and HTML) until their own', async () => {
    const own = await search(await auth(['searcher'], 'fiu'), 'investigative');
    const first = await auth(['reviewer'], 'fiu', 'First Reviewer');
    const second = await auth(['reviewer'], 'fiu', 'Second Reviewer');
    await request(svc.app).post(`/v1/searches/${own.searchId}/reviews`).set('Authorization', first)
      .send({ faceIndex: 0, subjectId, decision: 'confirmed', rationale: 'FIRST-RATIONALE' }).expect(201);

    const json = (await get(second, `/v1/searches/${own.searchId}/report`).expect(200)).body;
    expect(json.audit.events.map((e: { type: string }) => e.type)).not.toContain('review.recorded');
    expect(json.reviews).toEqual([]);
    expect(JSON.stringify(json)).not.toMatch(/"decision"|"stateAfter"|FIRST-RATIONALE|First Reviewer/);
    const html = (await get(second, `/v1/searches/${own.searchId}/report?format=html`).expect(200)).text;
    expect(html).not.toMatch(/FIRST-RATIONALE|First Reviewer/);

    // After their own decision the second reviewer sees both; an auditor sees every event all along.
    await request(svc.app).post(`/v1/searches/${own.searchId}/reviews`).set('Authorization', second)
      .send({ faceIndex: 0, subjectId, decision: 'rejected', rationale: 'SECOND-RATIONALE' }).expect(201);
    const decided = (await get(second, `/v1/searches/${own.searchId}/report`).expect(200)).body;
    expect(decided.audit.events.filter((e: { type: string }) => e.type === 'review.recorded')).toHaveLength(2);
    const audit = (await get(await auth(['auditor'], 'fiu'), `/v1/searches/${own.searchId}/report`).expect(200)).body;
    expect(audit.audit.events.filter((e: { type: string }) => e.type === 'review.recorded')).toHaveLength(2);
  });

  it('audits every read of biometric data and subject records, one event per request, and counts them for auditors', async () => {
    const holder = 'Reader Of Records';
    const reader = await auth(['enroller', 'auditor'], 'fiu', holder);
    const searcher = await auth(['searcher', 'reviewer'], 'fiu', 'Searcher Holder');
    const s = await search(await auth(['searcher'], 'fiu'), 'investigative');
    const star = await auth(['auditor'], '*');
    const before = (await get(star, '/v1/audit/reads').expect(200)).body;

    await get(reader, '/v1/subjects?limit=100&q=M').expect(200);
    await get(reader, `/v1/subjects/${subjectId}`).expect(200);
    await get(reader, `/v1/subjects/${subjectId}/faces/${faceId}/image?variant=original`).expect(200);
    await get(reader, `/v1/subjects/${subjectId}/faces/${faceId}/image?variant=crop`).expect(200);
    await get(searcher, `/v1/searches/${s.searchId}/faces/0/image`).expect(200);
    await get(searcher, `/v1/searches/${s.searchId}/faces/0/candidates/1/image`).expect(200);
    await get(searcher, `/v1/searches/${s.searchId}/report`).expect(200);
    await get(searcher, `/v1/searches/${s.searchId}/report?format=html`).expect(200);
    const shown = (await get(searcher, `/v1/searches/${s.searchId}`).expect(200)).body;

    const events = (await get(star, '/v1/audit/events?type=read.face_image&order=desc&limit=2').expect(200)).body.items;
    expect(events.map((e: { payload: { variant: string } }) => e.payload.variant)).toEqual(['crop', 'original']);
    expect(events[0]).toMatchObject({ subjectIds: [subjectId], payload: { faceId, owners: ['fiu'], watchlistIds: [ml] }, context: { holder } });
    const list = (await get(star, '/v1/audit/events?type=read.subjects&order=desc&limit=1').expect(200)).body.items[0];
    expect(list).toMatchObject({ subjectIds: [subjectId], payload: { count: 1, filters: ['q'] } });
    // ids and counts only: no name, no notes, no query text in the chain
    expect(JSON.stringify(list)).not.toMatch(/Subject M|Renamed M|private notes|"M"/);
    const caseFiles = (await get(star, `/v1/audit/events?type=read.case_file&searchId=${s.searchId}`).expect(200)).body.items;
    expect(caseFiles.map((e: { payload: { format: string } }) => e.payload.format)).toEqual(['json', 'html']);
    // the HTML case file inlines its crops under its own event: no extra crop events for it
    const crops = (await get(star, `/v1/audit/events?type=read.candidate_face&searchId=${s.searchId}`).expect(200)).body.items;
    expect(crops).toHaveLength(1);
    expect(crops[0]).toMatchObject({ subjectIds: [subjectId], payload: { faceIndex: 0, rank: 1, faceId } });
    expect((await get(star, `/v1/audit/events?type=read.probe_face&searchId=${s.searchId}`).expect(200)).body.items).toHaveLength(1);
    // GET /v1/searches/:id: one read.search event for the request, ids and counts only
    const searchReads = (await get(star, `/v1/audit/events?type=read.search&searchId=${s.searchId}`).expect(200)).body.items;
    expect(searchReads).toEqual([expect.objectContaining({ subjectIds: [subjectId], payload: { kind: 'search', owners: ['fiu'], candidates: shown.faces[0].candidates.length }, context: expect.objectContaining({ holder: 'Searcher Holder' }) })]);
    expect(JSON.stringify(searchReads)).not.toContain(NAME);

    const after = (await get(star, '/v1/audit/reads').expect(200)).body;
    const count = (st: typeof after, type: string, h: string) => st.byReader.find((r: { type: string; holder: string }) => r.type === type && r.holder === h)?.events ?? 0;
    expect(count(after, 'read.face_image', holder) - count(before, 'read.face_image', holder)).toBe(2);
    expect(count(after, 'read.subject', holder) - count(before, 'read.subject', holder)).toBe(1);
    expect(count(after, 'read.subjects', holder) - count(before, 'read.subjects', holder)).toBe(1);
    expect(count(after, 'read.case_file', 'Searcher Holder')).toBe(2);
    expect(count(after, 'read.search', 'Searcher Holder')).toBe(1);
    expect(after.byOwner).toEqual(expect.arrayContaining([expect.objectContaining({ owner: 'fiu', organization: 'fiu' })]));
    // An auditor of another organization sees none of fiu's readers (only its own readers, fiu's data among what they read).
    const other = (await get(await auth(['auditor'], 'bank-s'), '/v1/audit/reads').expect(200)).body;
    expect(other.byReader.map((r: { organization: string }) => r.organization)).toEqual(other.byReader.map(() => 'bank-s'));
    expect(other.byOwner.filter((r: { owner: string; organization: string }) => r.organization !== 'bank-s' && r.owner !== 'bank-s')).toEqual([]);
    expect(JSON.stringify(other)).not.toMatch(/"organization":"fiu"|Reader Of Records|Searcher Holder/);
    // A window that ends before the reads counts none of them.
    const empty = (await get(star, '/v1/audit/reads?to=2000-01-01').expect(200)).body;
    expect(empty).toEqual({ from: null, to: '2000-01-01T00:00:00.000Z', byReader: [], byOwner: [] });
    // Those reads are oversight's record: a case file made after them lists none of them.
    const caseFile = (await get(searcher, `/v1/searches/${s.searchId}/report`).expect(200)).body;
    expect(caseFile.audit.events.map((e: { type: string }) => e.type)).toContain('search.run');
    expect(caseFile.audit.events.filter((e: { type: string }) => e.type.startsWith('read.'))).toEqual([]);
  });
});
