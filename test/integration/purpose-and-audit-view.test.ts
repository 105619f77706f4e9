import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { BOOTSTRAP_KEY, startService } from '../helpers/app';
import { scriptedEngine } from '../helpers/fake-engine';

/**
 * The purpose policy (deployment minimum, an organization's own minimum or allowed list) and the auditor's timeline: holders,
 * purposes and cases beside each event, newest first, filters, a case's events across its searches, the filtered export, and
 * refused search attempts audited without anything of the photo but its hash.
 */
describe.each(backends())('purpose policy and the audit timeline on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  const fake = scriptedEngine();
  const keys = {} as Record<'sam' | 'sue' | 'rita' | 'bankAdmin' | 'audrey' | 'bankAuditor' | 'otherSearcher', string>;
  const face = fake.script(Buffer.from('probe with one face'), [{ identity: 7 }]);
  const wall = Buffer.from('probe with no face');
  const admin = `Bearer ${BOOTSTRAP_KEY}`;

  beforeAll(async () => {
    t = await backend.open();
    // The deployment's default minimum (8), not the test helpers' permissive one.
    svc = await startService(t.db, { engine: fake.engine, env: { PURPOSE_MIN_LENGTH: '8' } });
    await svc.startEngine();
    keys.sam = (await svc.key(['searcher'], 'bank-a', 'Sam Searcher')).auth;
    keys.sue = (await svc.key(['searcher'], 'bank-a', 'Sue Searcher')).auth;
    keys.rita = (await svc.key(['reviewer'], 'bank-a', 'Rita Reviewer')).auth;
    keys.bankAdmin = (await svc.key(['admin'], 'bank-a', 'Bank Admin')).auth;
    keys.audrey = (await svc.key(['auditor'], '*', 'Audrey Auditor')).auth;
    keys.bankAuditor = (await svc.key(['auditor'], 'bank-a', 'Bank Auditor')).auth;
    keys.otherSearcher = (await svc.key(['searcher'], 'bank-b', 'Olga Other')).auth;
    await svc.watchlist('bank-a', 'mules');
  });
  afterAll(() => t.drop());

  const search = (auth: string, image: Buffer, purpose: string, caseRef: string, extra: Record<string, string> = {}) => {
    const req = request(svc.app).post('/v1/searches').set('Authorization', auth).attach('image', image, 'p.jpg').field('purpose', purpose).field('caseRef', caseRef);
    for (const [k, v] of Object.entries(extra)) req.field(k, v);
    return req;
  };
  const events = async (auth: string, query: Record<string, string>) =>
    (await request(svc.app).get(`/v1/audit/events?${new URLSearchParams(query)}`).set('Authorization', auth).expect(200)).body as {
      items: Array<{ seq: number; type: string; searchId: string | null; payload: Record<string, unknown>; context: { holder: string | null; purpose: string | null; caseRef: string | null } }>;
      nextCursor: string | null;
    };

  it('refuses a purpose of "x" under the default policy with PURPOSE_NOT_ALLOWED, naming the minimum; a stated reason passes', async () => {
    const x = await search(keys.sam, face, 'x', 'CASE-1').expect(400);
    expect(x.body.error).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED', details: { minLength: 8, allowed: null } });
    await search(keys.sam, face, 'card-fraud ring, ATM footage', 'CASE-1').expect(200);
    const policy = (await request(svc.app).get('/v1/purpose-policy').set('Authorization', keys.sam).expect(200)).body;
    expect(policy).toEqual({ organization: 'bank-a', minLength: 8, allowed: null, source: 'deployment', updatedAt: null });
    const settings = (await request(svc.app).get('/v1/settings').set('Authorization', keys.sam).expect(200)).body;
    expect(settings).toMatchObject({
      scores: { screeningTargetFmr: 1e-4, verifyTargetFmr: 1e-4, calibrationFloor: expect.any(Number), modelId: expect.any(String) },
      review: { weakLeadFmr: 1e-3 },
      quality: { probeMinQuality: 0.5, enrolMinQuality: 0.5 },
      purpose: { minLength: 8, allowed: null },
    });
  });

  it("lets an organization's admin list its allowed purposes (audited); others' searches are not affected; clearing restores the default", async () => {
    await request(svc.app).put('/v1/purpose-policy').set('Authorization', keys.bankAdmin).send({ minLength: 4 }).expect(400);
    await request(svc.app).put('/v1/purpose-policy').set('Authorization', keys.bankAdmin).send({ organization: 'bank-b', allowed: ['KYC onboarding check'] }).expect(403);
    const set = await request(svc.app).put('/v1/purpose-policy').set('Authorization', keys.bankAdmin).send({ allowed: ['KYC onboarding check', 'Fraud investigation'] }).expect(200);
    expect(set.body).toMatchObject({ organization: 'bank-a', minLength: 8, allowed: ['KYC onboarding check', 'Fraud investigation'], source: 'organization' });
    const refused = await search(keys.sam, face, 'a long but unlisted purpose', 'CASE-2').expect(400);
    expect(refused.body.error).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED', details: { allowed: ['KYC onboarding check', 'Fraud investigation'] } });
    await search(keys.sam, face, '  Fraud investigation ', 'CASE-2').expect(200);
    await search(keys.otherSearcher, face, 'a long but unlisted purpose', 'CASE-9').expect(200);
    expect((await request(svc.app).get('/v1/settings').set('Authorization', keys.sam).expect(200)).body.purpose.allowed).toEqual(['KYC onboarding check', 'Fraud investigation']);
    const byStar = await request(svc.app).get('/v1/purpose-policy?organization=bank-a').set('Authorization', admin).expect(200);
    expect(byStar.body.source).toBe('organization');
    await request(svc.app).delete('/v1/purpose-policy').set('Authorization', keys.bankAdmin).expect(200);
    await request(svc.app).delete('/v1/purpose-policy').set('Authorization', keys.bankAdmin).expect(404);
    await search(keys.sam, face, 'a long but unlisted purpose', 'CASE-2').expect(200);
    const changes = await events(keys.audrey, { type: 'purpose_policy.set' });
    expect(changes.items).toHaveLength(1);
    expect(changes.items[0]!.context.holder).toBe('Bank Admin');
  });

  it('audits a search that fails after receiving a photo (NO_FACE, UNKNOWN_WATCHLIST) with its purpose, case and photo hash only', async () => {
    const before = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM search')).rows[0]!.n;
    expect((await search(keys.sue, wall, 'chargeback dispute review', 'CASE-3').expect(422)).body.error.code).toBe('NO_FACE');
    expect((await search(keys.sue, face, 'chargeback dispute review', 'CASE-3', { watchlists: 'nonexistent' }).expect(400)).body.error.code).toBe('UNKNOWN_WATCHLIST');
    expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM search')).rows[0]!.n).toBe(before);
    const failed = await events(keys.audrey, { type: 'search.failed', caseRef: 'CASE-3', order: 'desc' });
    expect(failed.items.map((e) => e.payload.code)).toEqual(['UNKNOWN_WATCHLIST', 'NO_FACE']);
    const noFace = failed.items[1]!;
    expect(noFace.searchId).toBeNull();
    expect(noFace.context).toEqual({ holder: 'Sue Searcher', purpose: 'chargeback dispute review', caseRef: 'CASE-3' });
    // Purpose and case are in the chain as HMACs only; the context above reads their text from the event's audit_text row.
    expect(Object.keys(noFace.payload).sort()).toEqual(['caseRefHmac', 'code', 'mode', 'probeSha256', 'purposeHmac', 'watchlists']);
    expect(noFace.payload.probeSha256).toMatch(/^[0-9a-f]{64}$/);
    // The refusal under the default policy earlier was audited the same way.
    expect((await events(keys.audrey, { type: 'search.failed', caseRef: 'CASE-1' })).items.map((e) => e.payload.code)).toEqual(['PURPOSE_NOT_ALLOWED']);
  });

  it("shows every event's holder, purpose and case, newest first with paging, filtered by holder, organization and case", async () => {
    const ok = await search(keys.sue, face, 'chargeback dispute review', 'CASE-4').expect(200);
    const cand = ok.body.faces[0]?.candidates[0];
    expect(cand).toBeUndefined(); // the gallery is empty: this search has nothing to review, its events still name the case
    const all = await events(keys.audrey, { order: 'desc', limit: '3' });
    expect(all.items.map((e) => e.seq)).toEqual([...all.items.map((e) => e.seq)].sort((a, b) => b - a));
    expect(all.items[0]).toMatchObject({ type: 'search.run', context: { holder: 'Sue Searcher', purpose: 'chargeback dispute review', caseRef: 'CASE-4' } });
    const next = await events(keys.audrey, { order: 'desc', limit: '3', cursor: all.nextCursor! });
    expect(next.items[0]!.seq).toBe(all.items[2]!.seq - 1);

    const sue = await events(keys.audrey, { holder: 'Sue Searcher' });
    expect(new Set(sue.items.map((e) => e.context.holder))).toEqual(new Set(['Sue Searcher']));
    expect(sue.items.map((e) => e.type)).toEqual(['search.failed', 'search.failed', 'search.run']);
    expect((await events(keys.audrey, { organization: 'bank-b' })).items.map((e) => e.context.holder)).toEqual(['Olga Other']);
    // An auditor of bank-a reads bank-a's events only, and nothing when it names another organization.
    expect((await events(keys.bankAuditor, { organization: 'bank-b' })).items).toEqual([]);
    expect((await events(keys.bankAuditor, { caseRef: 'CASE-9' })).items).toEqual([]);
    const case2 = await events(keys.bankAuditor, { caseRef: 'CASE-2' });
    expect(case2.items.map((e) => e.type)).toEqual(['search.failed', 'search.run', 'search.run']);
  });

  it('exports the filtered set with its context as NDJSON and as CSV (formula-looking text defused)', async () => {
    await search(keys.sam, face, '=HYPERLINK("x") fraud check', 'CASE-5').expect(200);
    const nd = await request(svc.app).get('/v1/audit/events/export?caseRef=CASE-3').set('Authorization', keys.audrey).expect(200);
    expect(nd.headers['content-type']).toMatch(/application\/x-ndjson/);
    const lines = nd.text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; context: { caseRef: string } });
    expect(lines.map((l) => [l.type, l.context.caseRef])).toEqual([['search.failed', 'CASE-3'], ['search.failed', 'CASE-3']]);
    const csv = await request(svc.app).get('/v1/audit/events/export?caseRef=CASE-5&format=csv').set('Authorization', keys.audrey).expect(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const [header, row] = csv.text.trim().split('\n');
    expect(header).toBe('seq,at,type,holder,organization,keyId,purpose,caseRef,searchId,subjectIds,hash,prevHash');
    expect(row).toContain(`"'=HYPERLINK(""x"") fraud check"`);
    expect(row).toContain('Sam Searcher');
  });
});
