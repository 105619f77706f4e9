import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * Reverse screening on enrolment (issue 22 #3, docs/sharing.md "Reverse screening"), through the real services with the bytes
 * stand-in engine (the same photo is the same face): `fiu` owns watchlist `ml` and grants `bank` screen access; `bank` keeps its
 * clients in a `customers` watchlist. When `fiu` enrols a subject whose face is one of the bank's customers, the bank gets a
 * notice naming its customer, `fiu` a notice naming its subject, and each side's audit trail records its own part.
 */
describe.each(backends())('reverse screening on enrolment on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let ml: string;
  let customers: string;
  let grantId: string;
  let customerId: string;
  const keys: Record<string, string> = {};
  const photos: Record<string, Buffer> = {};
  const api = () => request(svc.app);

  const enrol = async (org: 'fiu' | 'bank', watchlist: string, displayName: string, photo: Buffer) => {
    const auth = keys[`${org}.enroller`]!;
    const id = (await api().post('/v1/subjects').set('Authorization', auth).send({ displayName, category: 'fraud', watchlist, legalBasis: 'x' }).expect(201)).body.id as string;
    const faceId = (await api().post(`/v1/subjects/${id}/faces`).set('Authorization', auth).attach('image', photo, 'f.png').expect(201)).body.faceId as string;
    return { id, faceId };
  };
  const notices = async (org: string) => (await api().get('/v1/notifications').set('Authorization', keys[`${org}.admin`]!).expect(200)).body.items;
  const events = async (org: string, query: string) => (await api().get(`/v1/audit/events?${query}`).set('Authorization', keys[`${org}.auditor`]!).expect(200)).body.items;
  const bankSearches = async () => (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM search WHERE organization = 'bank'")).rows[0]!.n;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv(), engine: bytesFaceEngine() });
    await svc.startEngine();
    for (const org of ['fiu', 'bank', 'other']) for (const role of ['enroller', 'admin', 'auditor', 'searcher'] as const) keys[`${org}.${role}`] = (await svc.key([role], org)).auth;
    for (const seed of [41, 42, 43, 44, 45]) photos[seed] = await seededPng(seed);
    ml = await svc.watchlist('fiu', 'ml', [{ organization: 'bank', access: 'screen' }]);
    grantId = (await api().get('/v1/grants').set('Authorization', keys['bank.admin']!).expect(200)).body.items[0].id;
    customers = (
      await api().post('/v1/watchlists').set('Authorization', keys['bank.admin']!).send({ name: 'clients', kind: 'customers', jurisdiction: 'US-TX', legalBasis: 'KYC' }).expect(201)
    ).body.id;
    customerId = (await enrol('bank', 'clients', 'Customer C', photos[41]!)).id;
    await enrol('bank', 'clients', 'Customer D', photos[42]!);
  });
  afterAll(() => t.drop());

  it('keeps a customers watchlist to its organization and refuses to enable on anything but a live grant and a customers watchlist', async () => {
    const offered = await api().post(`/v1/watchlists/${customers}/grants`).set('Authorization', keys['bank.admin']!).send({ organization: 'fiu', access: 'screen' }).expect(409);
    expect(offered.body.error.code).toBe('CONFLICT');
    // The kind is fixed at creation.
    await api().patch(`/v1/watchlists/${customers}`).set('Authorization', keys['bank.admin']!).send({ kind: 'watchlist' }).expect(400);
    const own = (await api().post('/v1/watchlists').set('Authorization', keys['bank.admin']!).send({ name: 'bank-own', jurisdiction: 'US', legalBasis: 'x' }).expect(201)).body;
    expect(own.kind).toBe('watchlist');
    const body = { customersWatchlist: 'bank-own', purpose: 'KYC re-screening of clients', caseRef: 'KYC-2026' };
    expect((await api().put(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', keys['bank.admin']!).send(body).expect(409)).body.error.code).toBe('CONFLICT');
    // Only an admin of the receiving organization; the owner and strangers learn nothing of the grant.
    await api().put(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', keys['bank.enroller']!).send({ ...body, customersWatchlist: 'clients' }).expect(403);
    for (const who of ['fiu.admin', 'other.admin']) await api().put(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', keys[who]!).send({ ...body, customersWatchlist: 'clients' }).expect(404);
    // A pending grant gives nothing, reverse screening included.
    const fiuAdmin = { keyId: 'fiu-admin', roles: ['admin' as const], organization: 'fiu' };
    const ml2 = await svc.watchlists.create(fiuAdmin, { name: 'ml2', description: null, jurisdiction: 'MX', legalBasis: 'x', retentionDays: null });
    const pending = await svc.watchlists.grant(fiuAdmin, ml2.id, { organization: 'bank', access: 'screen' });
    expect((await api().put(`/v1/grants/${pending.id}/reverse-screening`).set('Authorization', keys['bank.admin']!).send({ ...body, customersWatchlist: 'clients' }).expect(409)).body.error.message).toMatch(/live grant/);
    await api().get(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', keys['bank.auditor']!).expect(404);
  });

  it('screens the customers watchlist against a newly enrolled subject: notices to both sides, each side audited, run once', async () => {
    const enabled = (
      await api().put(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', keys['bank.admin']!).send({ customersWatchlist: 'clients', purpose: 'KYC re-screening of clients', caseRef: 'KYC-2026' }).expect(200)
    ).body;
    expect(enabled).toMatchObject({ grantId, watchlistId: ml, owner: 'fiu', customersWatchlistId: customers, customersWatchlist: 'clients', purpose: 'KYC re-screening of clients', caseRef: 'KYC-2026' });
    expect((await api().get(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', keys['bank.auditor']!).expect(200)).body).toEqual(enabled);
    await api().get(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', keys['fiu.auditor']!).expect(404);

    const before = await bankSearches();
    const subject = await enrol('fiu', 'ml', 'Subject S', photos[41]!);
    await svc.reverse.drain();
    expect(await bankSearches()).toBe(before + 1);

    // The bank: one notice, naming its customer, with the owner's template that was the probe.
    const bankNotices = await notices('bank');
    expect(bankNotices).toEqual([
      expect.objectContaining({
        watchlistId: customers,
        subjectId: customerId,
        searchingOrganization: 'bank',
        mode: 'screening',
        similarity: 1,
        purpose: 'KYC re-screening of clients',
        caseRef: 'KYC-2026',
        reverse: { grantId, probe: { organization: 'fiu', watchlistId: ml, subjectId: subject.id, faceId: subject.faceId } },
      }),
    ]);
    const searchId = bankNotices[0].searchId;
    // The owner: one notice naming its own subject, as for any screening hit on its watchlist; nothing names the customer.
    const fiuNotices = await notices('fiu');
    expect(fiuNotices).toEqual([expect.objectContaining({ watchlistId: ml, subjectId: subject.id, searchId, searchingOrganization: 'bank', reverse: expect.objectContaining({ grantId }) })]);
    expect(JSON.stringify(fiuNotices)).not.toContain(customerId);

    // The search is the bank's: its candidates are its customers, and it records the grant and the probe template.
    const stored = (await api().get(`/v1/searches/${searchId}`).set('Authorization', keys['bank.searcher']!).expect(200)).body;
    expect(stored.mode).toBe('screening');
    expect(stored.reverse).toEqual({ grantId, probe: { organization: 'fiu', watchlistId: ml, subjectId: subject.id, faceId: subject.faceId } });
    expect(stored.faces[0].candidates.map((c: { subjectId: string; displayName: string }) => [c.subjectId, c.displayName])).toEqual([[customerId, 'Customer C']]);
    await api().get(`/v1/searches/${searchId}`).set('Authorization', keys['fiu.auditor']!).expect(404);

    // Audited on both sides, each side seeing its own part only.
    const bankRun = await events('bank', `type=search.run&searchId=${searchId}`);
    expect(bankRun).toEqual([expect.objectContaining({ actor: expect.objectContaining({ organization: 'bank' }), payload: expect.objectContaining({ mode: 'screening', reverse: expect.objectContaining({ grantId }) }) })]);
    expect(await events('fiu', `type=search.run&searchId=${searchId}`)).toEqual([]);
    const ownerRun = await events('fiu', 'type=reverse_screening.run');
    expect(ownerRun).toEqual([
      expect.objectContaining({ searchId, subjectIds: [subject.id], actor: expect.objectContaining({ organization: 'fiu' }), payload: { grantId, watchlistId: ml, faceId: subject.faceId, organization: 'bank' } }),
    ]);
    expect(await events('bank', 'type=reverse_screening.run')).toEqual([]);
    const enrolled = await events('fiu', 'type=face.enrolled');
    expect(enrolled.find((e: { payload: { faceId: string } }) => e.payload.faceId === subject.faceId).payload.reverseScreenings).toEqual([{ grantId, organization: 'bank' }]);
    expect(await events('bank', 'type=reverse_screening.enabled')).toHaveLength(1);

    // Exactly once: another pass finds nothing owed.
    await svc.reverse.drain();
    expect(await bankSearches()).toBe(before + 1);
    expect(await notices('bank')).toHaveLength(1);

    // A subject who is no customer: the screening runs, and finds nothing to tell anyone.
    await enrol('fiu', 'ml', 'Subject T', photos[43]!);
    await svc.reverse.drain();
    expect(await bankSearches()).toBe(before + 2);
    expect(await notices('bank')).toHaveLength(1);
    expect(await notices('fiu')).toHaveLength(1);
    const tasks = (await t.db.query<{ done: boolean; search: boolean; skipped: string | null }>('SELECT done_at IS NOT NULL AS done, search_id IS NOT NULL AS search, skipped FROM reverse_screening_task')).rows;
    expect(tasks).toEqual([{ done: true, search: true, skipped: null }, { done: true, search: true, skipped: null }]);
  });

  it('stops when the receiving organization disables it or the owner revokes the grant', async () => {
    const bankAdmin = keys['bank.admin']!;
    const enable = () => api().put(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', bankAdmin).send({ customersWatchlist: customers, purpose: 'KYC re-screening of clients', caseRef: 'KYC-2026' }).expect(200);
    await enable();
    const disabledBefore = (await events('bank', 'type=reverse_screening.disabled')).length;
    const noticesBefore = (await notices('bank')).length;
    await api().delete(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', bankAdmin).expect(200);
    await api().delete(`/v1/grants/${grantId}/reverse-screening`).set('Authorization', bankAdmin).expect(404);
    expect(await events('bank', 'type=reverse_screening.disabled')).toHaveLength(disabledBefore + 1);
    const before = await bankSearches();
    const disabled = await enrol('fiu', 'ml', 'Subject U', photos[42]!);
    await svc.reverse.drain();
    expect(await bankSearches()).toBe(before);
    const enrolled = await events('fiu', 'type=face.enrolled');
    expect(enrolled.find((e: { payload: { faceId: string } }) => e.payload.faceId === disabled.faceId).payload.reverseScreenings).toBeUndefined();

    await enable();
    await api().delete(`/v1/watchlists/${ml}/grants/${grantId}`).set('Authorization', keys['fiu.admin']!).expect(200);
    await enrol('fiu', 'ml', 'Subject V', photos[42]!);
    await svc.reverse.drain();
    expect(await bankSearches()).toBe(before);
    expect(await notices('bank')).toHaveLength(noticesBefore);
  });

  it('runs a screening owed when the process stopped after the enrolment committed, on the next start, once', async () => {
    // A watchlist of its own with a live grant; its subject is enrolled first, then the screening is queued exactly as the
    // enrolment's transaction queues it, and nothing runs it: as if the process had died right after the commit.
    const ml3 = await svc.watchlist('fiu', 'ml3', [{ organization: 'bank', access: 'search' }]);
    const grant3 = (await api().get('/v1/grants').set('Authorization', keys['bank.admin']!).expect(200)).body.items.find((g: { watchlistId: string }) => g.watchlistId === ml3).id;
    const subject = await enrol('fiu', 'ml3', 'Subject W', photos[41]!);
    await api().put(`/v1/grants/${grant3}/reverse-screening`).set('Authorization', keys['bank.admin']!).send({ customersWatchlist: 'clients', purpose: 'KYC re-screening of clients', caseRef: 'KYC-2027' }).expect(200);
    const owed = await t.db.transaction((tx) => svc.reverse.hook.enrolled(tx, { faceId: subject.faceId, watchlistId: ml3, enrolledBy: { keyId: 'fiu-enroller', organization: 'fiu', roles: ['enroller'] }, at: new Date() }));
    expect(owed).toEqual({ reverseScreenings: [{ grantId: grant3, organization: 'bank' }] });
    const caseNotices = async () => (await notices('bank')).filter((n: { caseRef: string }) => n.caseRef === 'KYC-2027');
    expect(await caseNotices()).toEqual([]);

    // A new instance on the same database runs what is owed when it starts, and only that.
    const next = await startService(t.db, { env: serviceEnv(), engine: bytesFaceEngine(), migrateFirst: false });
    try {
      await next.startEngine();
      await next.startReverseScreening();
    } finally {
      await next.close();
    }
    expect(await caseNotices()).toEqual([expect.objectContaining({ subjectId: customerId, reverse: { grantId: grant3, probe: { organization: 'fiu', watchlistId: ml3, subjectId: subject.id, faceId: subject.faceId } } })]);
    await svc.reverse.drain();
    expect(await caseNotices()).toHaveLength(1);
  });
});
