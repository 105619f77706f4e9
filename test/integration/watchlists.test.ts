import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { type KnnScope } from '../../src/modules/gallery/gallery.model';
import { createFaceRepo } from '../../src/modules/gallery/face.repo';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { near, seededUnitVectors } from '../helpers/vectors';
import { serviceEnv } from './oversight.fixtures';

/** Watchlists owned by one organization and shared by grant (API.md "Watchlists"), on the real services and database. */
describe.each(backends())('watchlist sharing on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  const faces = createFaceRepo();
  const MODEL = 'scope-test-128';
  const keys = {} as Record<'fiuAdmin' | 'fiuEnroller' | 'bankAdmin' | 'bankSearcher' | 'bankEnroller' | 'bankReviewer' | 'otherSearcher' | 'auditor', string>;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv(), engine: bytesFaceEngine() });
    await svc.startEngine();
    keys.fiuAdmin = (await svc.key(['admin'], 'fiu')).auth;
    keys.fiuEnroller = (await svc.key(['enroller'], 'fiu')).auth;
    keys.bankAdmin = (await svc.key(['admin'], 'bank-a')).auth;
    keys.bankSearcher = (await svc.key(['searcher'], 'bank-a')).auth;
    keys.bankEnroller = (await svc.key(['enroller'], 'bank-a')).auth;
    keys.bankReviewer = (await svc.key(['reviewer'], 'bank-a')).auth;
    keys.otherSearcher = (await svc.key(['searcher'], 'bank-b')).auth;
    keys.auditor = (await svc.key(['auditor'], '*')).auth;
  });
  afterAll(() => t.drop());

  const api = () => request(svc.app);
  const createWatchlist = async (name: string, auth = keys.fiuAdmin) =>
    (await api().post('/v1/watchlists').set('Authorization', auth).send({ name, jurisdiction: 'DE', legalBasis: '§ 30 GwG', retentionDays: 365 }).expect(201)).body;
  const createSubject = async (watchlist: string, displayName = 'S') =>
    (await api().post('/v1/subjects').set('Authorization', keys.fiuEnroller).send({ displayName, category: 'money_laundering', watchlist, legalBasis: 'x' }).expect(201)).body;
  const searchFor = (auth: string, fields: Record<string, string>, image: Buffer) => {
    const r = api().post('/v1/searches').set('Authorization', auth).attach('image', image, 'p.png');
    for (const [k, v] of Object.entries({ purpose: 'check', caseRef: 'C-1', ...fields })) r.field(k, v);
    return r;
  };

  it('creates a watchlist owned by the caller’s organization, unique by name within it', async () => {
    const w = await createWatchlist('ml-ring');
    expect(w).toMatchObject({ id: expect.any(String), name: 'ml-ring', organization: 'fiu', jurisdiction: 'DE', legalBasis: '§ 30 GwG', retentionDays: 365 });
    const dup = await api().post('/v1/watchlists').set('Authorization', keys.fiuEnroller).send({ name: 'ml-ring', jurisdiction: 'DE', legalBasis: 'x' });
    expect(dup.status).toBe(409);
    // Another organization may use the same name for its own list.
    expect((await createWatchlist('ml-ring', keys.bankEnroller)).organization).toBe('bank-a');
  });

  it('lets a grantee search a shared watchlist (never read its records) once its admin accepts, until the grant is revoked or expires; all audited', async () => {
    const w = await createWatchlist('shared-1');
    const photo = await seededPng(501);
    const s = await createSubject('shared-1', 'Shared Person');
    await api().post(`/v1/subjects/${s.id}/faces`).set('Authorization', keys.fiuEnroller).attach('image', photo, 'f.png').expect(201);

    const before = await searchFor(keys.bankSearcher, {}, photo).expect(200);
    expect(before.body.faces[0].candidates.map((c: { subjectId: string }) => c.subjectId)).not.toContain(s.id);
    expect((await api().get(`/v1/subjects/${s.id}`).set('Authorization', keys.bankReviewer)).status).toBe(404);

    const g = await api().post(`/v1/watchlists/${w.id}/grants`).set('Authorization', keys.fiuAdmin).send({ organization: 'bank-a', access: 'search' }).expect(201);
    expect(g.body).toMatchObject({ watchlistId: w.id, organization: 'bank-a', access: 'search', expiresAt: null, state: 'pending', acceptedAt: null });
    // Pending: the grantee sees an offer in /v1/grants and nothing else (no watchlist, no candidate, UNKNOWN_WATCHLIST by name).
    const offered = (await api().get('/v1/grants').set('Authorization', keys.bankEnroller).expect(200)).body.items;
    expect(offered.find((x: { id: string }) => x.id === g.body.id)).toMatchObject({ state: 'pending', watchlist: 'shared-1', owner: 'fiu', access: 'search' });
    expect((await api().get('/v1/watchlists').set('Authorization', keys.bankSearcher).expect(200)).body.items.map((x: { id: string }) => x.id)).not.toContain(w.id);
    expect((await api().get(`/v1/watchlists/${w.id}`).set('Authorization', keys.bankSearcher)).status).toBe(404);
    expect((await searchFor(keys.bankSearcher, { watchlists: 'shared-1' }, photo)).body.error.code).toBe('UNKNOWN_WATCHLIST');
    const pendingSearch = await searchFor(keys.bankSearcher, {}, photo).expect(200);
    expect(pendingSearch.body.faces[0].candidates.map((c: { subjectId: string }) => c.subjectId)).not.toContain(s.id);
    const fiuNotices = (await api().get('/v1/notifications?limit=200').set('Authorization', keys.fiuAdmin).expect(200)).body.items;
    expect(fiuNotices.map((n: { searchId: string }) => n.searchId)).not.toContain(pendingSearch.body.searchId);
    // Only an admin of the receiving organization answers: the owner's admin, another organization's and a non-admin cannot.
    expect((await api().post(`/v1/grants/${g.body.id}/accept`).set('Authorization', keys.fiuAdmin)).status).toBe(404);
    expect((await api().post(`/v1/grants/${g.body.id}/accept`).set('Authorization', keys.bankEnroller)).status).toBe(403);
    const accepted = await api().post(`/v1/grants/${g.body.id}/accept`).set('Authorization', keys.bankAdmin).expect(200);
    expect(accepted.body).toMatchObject({ id: g.body.id, state: 'active', owner: 'fiu', watchlist: 'shared-1' });
    expect(accepted.body.acceptedAt).toEqual(expect.any(String));
    expect((await api().post(`/v1/grants/${g.body.id}/accept`).set('Authorization', keys.bankAdmin)).body.error.code).toBe('CONFLICT');
    const listed = (await api().get('/v1/watchlists').set('Authorization', keys.bankSearcher).expect(200)).body.items;
    expect(listed.find((x: { id: string }) => x.id === w.id)).toMatchObject({ access: 'search', organization: 'fiu' });
    const found = await searchFor(keys.bankSearcher, { watchlists: 'shared-1' }, photo).expect(200);
    expect(found.body.faces[0].candidates[0]).toMatchObject({ subjectId: s.id, displayName: 'Shared Person', watchlist: 'shared-1', watchlistId: w.id });
    // A grant shares searches, not the gallery: the record stays the owner's (404, as for a stranger), and so do changes to it.
    expect((await api().get(`/v1/subjects/${s.id}`).set('Authorization', keys.bankReviewer)).status).toBe(404);
    expect((await api().patch(`/v1/subjects/${s.id}`).set('Authorization', keys.bankEnroller).send({ notes: 'x' })).status).toBe(404);
    expect((await searchFor(keys.otherSearcher, { watchlists: w.id }, photo)).body.error.code).toBe('UNKNOWN_WATCHLIST');

    await api().delete(`/v1/watchlists/${w.id}/grants/${g.body.id}`).set('Authorization', keys.fiuAdmin).expect(200);
    const revoked = await searchFor(keys.bankSearcher, { watchlists: 'shared-1' }, photo);
    expect(revoked.status).toBe(400);
    expect(revoked.body.error.code).toBe('UNKNOWN_WATCHLIST');
    const unfiltered = await searchFor(keys.bankSearcher, {}, photo).expect(200);
    expect(unfiltered.body.faces[0].candidates.map((c: { subjectId: string }) => c.subjectId)).not.toContain(s.id);
    expect((await api().get(`/v1/subjects/${s.id}`).set('Authorization', keys.bankReviewer)).status).toBe(404);

    // A grant past its expiry gives nothing and can no longer be accepted.
    const old = await api().post(`/v1/watchlists/${w.id}/grants`).set('Authorization', keys.fiuAdmin).send({ organization: 'bank-a', access: 'search', expiresAt: '2020-01-01T00:00:00Z' }).expect(201);
    expect((await api().post(`/v1/grants/${old.body.id}/accept`).set('Authorization', keys.bankAdmin)).body.error.code).toBe('CONFLICT');
    expect((await searchFor(keys.bankSearcher, { watchlists: 'shared-1' }, photo)).status).toBe(400);
    // Declined, it is on record and the pair is free for a new offer.
    expect((await api().post(`/v1/grants/${old.body.id}/decline`).set('Authorization', keys.bankAdmin).expect(200)).body.state).toBe('declined');

    const grants = (await api().get(`/v1/watchlists/${w.id}/grants`).set('Authorization', keys.fiuEnroller).expect(200)).body.items;
    expect(grants.map((x: { state: string }) => x.state)).toEqual(['revoked', 'declined']);
    const events = (await api().get('/v1/audit/events?limit=1000').set('Authorization', keys.auditor).expect(200)).body.items
      .filter((e: { payload: { watchlistId?: string } }) => e.payload.watchlistId === w.id);
    expect(events.map((e: { type: string }) => e.type).filter((e: string) => e.startsWith('watchlist.'))).toEqual([
      'watchlist.created', 'watchlist.granted', 'watchlist.grant_accepted', 'watchlist.grant_revoked', 'watchlist.granted', 'watchlist.grant_declined',
    ]);
    const answered = events.filter((e: { type: string }) => e.type === 'watchlist.grant_accepted' || e.type === 'watchlist.grant_declined');
    expect(answered.map((e: { actor: { organization: string }; payload: { stateBefore: string; owner: string } }) => [e.actor.organization, e.payload.owner, e.payload.stateBefore])).toEqual([
      ['bank-a', 'fiu', 'pending'],
      ['bank-a', 'fiu', 'pending'],
    ]);
  });

  it('keeps a grant to an organization no key belongs to pending: nobody here can accept it, not even an admin of *', async () => {
    const w = await createWatchlist('offered-to-nobody');
    const g = (await api().post(`/v1/watchlists/${w.id}/grants`).set('Authorization', keys.fiuAdmin).send({ organization: 'no-such-org', access: 'search' }).expect(201)).body;
    expect(g.state).toBe('pending');
    const star = (await svc.key(['admin'], '*')).auth;
    expect((await api().post(`/v1/grants/${g.id}/accept`).set('Authorization', star)).status).toBe(404);
    expect((await api().get('/v1/grants').set('Authorization', star).expect(200)).body.items).toEqual([]);
    expect((await api().get(`/v1/watchlists/${w.id}/grants`).set('Authorization', keys.fiuAdmin).expect(200)).body.items).toEqual([expect.objectContaining({ id: g.id, state: 'pending' })]);
    // The owner can withdraw the offer like any grant.
    expect((await api().delete(`/v1/watchlists/${w.id}/grants/${g.id}`).set('Authorization', keys.fiuAdmin).expect(200)).body.state).toBe('revoked');
  });

  it('writes no notice when the search that would have caused it fails', async () => {
    const w = await createWatchlist('atomic');
    await svc.grant('fiu', w.id, { organization: 'bank-a', access: 'search' });
    const photo = await seededPng(777);
    const s = await createSubject('atomic');
    await api().post(`/v1/subjects/${s.id}/faces`).set('Authorization', keys.fiuEnroller).attach('image', photo, 'f.png').expect(201);
    const count = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM hit_notice WHERE subject_id = $1', [s.id])).rows[0]!.n;
    await t.db.exec(`CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store down'; END $$;
      CREATE TRIGGER fail_audit BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION fail_audit();`);
    try {
      expect((await searchFor(keys.bankSearcher, {}, photo)).status).toBe(500);
    } finally {
      await t.db.exec('DROP TRIGGER fail_audit ON audit_event; DROP FUNCTION fail_audit();');
    }
    expect(await count()).toBe(0);
    await searchFor(keys.bankSearcher, {}, photo).expect(200);
    expect(await count()).toBe(1);
  });

  it('scopes 1:1 verification the same way: 404 without a grant, 403 with a screen grant, a match and an owner notice with a search grant', async () => {
    const w = await createWatchlist('verify-scope');
    const photo = await seededPng(888);
    const s = await createSubject('verify-scope');
    await api().post(`/v1/subjects/${s.id}/faces`).set('Authorization', keys.fiuEnroller).attach('image', photo, 'f.png').expect(201);
    const verify = () => api().post('/v1/verify').set('Authorization', keys.bankSearcher).attach('image', photo, 'p.png').field('subjectId', s.id).field('purpose', 'KYC').field('caseRef', 'V-1');
    expect((await verify()).status).toBe(404);
    const owner = { keyId: 'k', roles: ['admin' as const], organization: 'fiu' };
    const screen = await svc.grant('fiu', w.id, { organization: 'bank-a', access: 'screen' });
    expect((await verify()).status).toBe(403);
    await svc.watchlists.revoke(owner, w.id, screen.id);
    await svc.grant('fiu', w.id, { organization: 'bank-a', access: 'search' });
    const ok = await verify().expect(200);
    expect(ok.body).toMatchObject({ subjectId: s.id, match: true });
    const notices = (await api().get('/v1/notifications?limit=200').set('Authorization', keys.fiuAdmin).expect(200)).body.items;
    expect(notices.filter((n: { searchId: string }) => n.searchId === ok.body.verificationId)).toEqual([expect.objectContaining({ subjectId: s.id, mode: 'verify', searchingOrganization: 'bank-a' })]);
  });

  it("moves a subject's templates with it when the owner moves the subject to another watchlist", async () => {
    const from = await createWatchlist('move-from');
    const to = await createWatchlist('move-to');
    const photo = await seededPng(999);
    const s = await createSubject('move-from');
    await api().post(`/v1/subjects/${s.id}/faces`).set('Authorization', keys.fiuEnroller).attach('image', photo, 'f.png').expect(201);
    const fiuSearcher = (await svc.key(['searcher'], 'fiu')).auth;
    const found = async (watchlists: string) => (await searchFor(fiuSearcher, { watchlists }, photo).expect(200)).body.faces[0].candidates.map((c: { subjectId: string }) => c.subjectId);
    expect(await found('move-from')).toEqual([s.id]);
    expect((await api().patch(`/v1/subjects/${s.id}`).set('Authorization', keys.fiuEnroller).send({ watchlist: 'move-to' }).expect(200)).body.watchlistId).toBe(to.id);
    expect(await found('move-from')).toEqual([]);
    expect(await found('move-to')).toEqual([s.id]);
    const rows = await t.db.query<{ w: string }>('SELECT DISTINCT watchlist_id AS w FROM face WHERE subject_id = $1', [s.id]);
    expect(rows.rows).toEqual([{ w: to.id }]);
    expect(from.id).not.toBe(to.id);
  });

  it('deletes a watchlist with its subjects, one erasure receipt each (owner only)', async () => {
    const w = await createWatchlist('to-delete');
    const a = await createSubject('to-delete');
    const b = await createSubject('to-delete');
    expect((await api().delete(`/v1/watchlists/${w.id}`).set('Authorization', keys.bankEnroller)).status).toBe(404);
    const res = await api().delete(`/v1/watchlists/${w.id}`).set('Authorization', keys.fiuEnroller).expect(200);
    expect(res.body.subjectsErased.map((r: { subjectId: string }) => r.subjectId).sort()).toEqual([a.id, b.id].sort());
    expect((await api().get(`/v1/watchlists/${w.id}`).set('Authorization', keys.fiuEnroller)).status).toBe(404);
    expect((await api().get(`/v1/subjects/${a.id}`).set('Authorization', keys.fiuEnroller)).status).toBe(404);
  });

  describe('scope inside the kNN query', () => {
    let visible: string;
    let hidden: string;
    const base = seededUnitVectors(1, 128, 900)[0]!;

    beforeAll(async () => {
      hidden = (await createWatchlist('crowd-not-shared')).id;
      visible = (await createWatchlist('rare-shared')).id;
      await svc.grant('fiu', visible, { organization: 'bank-a', access: 'screen' });
      const enrol = async (watchlist: string, v: number[]) => {
        const s = await svc.subjects.create({ keyId: 'k', roles: ['enroller'], organization: 'fiu' }, { displayName: 'x', category: 'fraud', watchlist, legalBasis: 'x', externalRef: null, caseRef: null, notes: null, reviewBy: null });
        await faces.insert(t.db, { id: randomUUID(), subjectId: s.id, modelId: MODEL, embedding: v, quality: { score: 0.9, issues: [], metrics: {} }, box: { x: 0, y: 0, width: 1, height: 1 }, source: null });
      };
      // 300 near neighbours the grantee may not see, 12 farther ones it may screen.
      for (let i = 0; i < 300; i++) await enrol(hidden, near(base, 0.3, 3000 + i));
      for (let i = 0; i < 12; i++) await enrol(visible, near(base, 1.2, 4000 + i));
      await t.db.exec('ANALYZE');
    });

    const knn = (scope: Omit<KnnScope, 'at'>, topK = 10) => t.db.transaction((tx) => faces.nearestSubjects(tx, { embedding: base, modelId: MODEL, topK, scope: { ...scope, at: new Date() } }));

    it('still returns topK from the watchlists in scope when the nearest templates are out of scope', async () => {
      const hits = await knn({ organization: 'bank-a', mode: 'screening' });
      expect(hits).toHaveLength(10);
      expect(new Set(hits.map((h) => h.watchlistId))).toEqual(new Set([visible]));
      expect(hits.every((h) => h.owner === 'fiu')).toBe(true);
      // The same grant does not count for investigative searches; the owner sees both lists.
      expect(await knn({ organization: 'bank-a', mode: 'investigative' })).toEqual([]);
      expect(new Set((await knn({ organization: 'fiu', mode: 'investigative' }, 50)).map((h) => h.watchlistId))).toEqual(new Set([hidden]));
      expect(await knn({ organization: 'fiu', mode: 'investigative', watchlistIds: [visible] }, 50)).toHaveLength(12);
    });

    it("runs on the HNSW index: the repository's own statement, scope included, explained", async () => {
      const plan = await t.db.transaction((tx) => faces.explainNearest(tx, { embedding: base, modelId: MODEL, topK: 10, scope: { organization: 'bank-a', mode: 'screening', at: new Date() } }));
      expect(plan).toMatch(/Index Scan using face_embedding_128_hnsw/);
      expect(plan).not.toMatch(/Seq Scan on face/);
    });
  });
});
