import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import request from 'supertest';
import { ROLES, type Role } from '../../src/shared/principal';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { createNoticeRepo } from '../../src/modules/notice/notice.repo';
import { scriptedEngine } from '../helpers/fake-engine';
import { scriptedGallery, serviceEnv } from './oversight.fixtures';

/**
 * Every /v1 route × every role × the resource owner's organization / a `search` grantee / a `screen` grantee / a stranger. The
 * resources (watchlist `wl` with its subject and its enrolled face, a search, a hit notice, keys, a webhook) belong to `bank-a`;
 * `bank-g` holds a `search` grant on `wl`, `bank-s` a `screen` grant; `bank-b` holds nothing. Grants share searches, never the
 * gallery: subject listings, records and images are the owner's (and `*`'s, last test) only. Without the face engine, routes
 * that need it answer 503 NOT_READY once authorization has passed.
 */
type Svc = Awaited<ReturnType<typeof startService>>;
type Org = 'bank-a' | 'bank-g' | 'bank-s' | 'bank-b';
interface Ctx {
  svc: Svc;
  searchId: string;
  subjectId: string;
  faceId: string;
  watchlistId: string;
  noticeId: string;
  png: Buffer;
}
/** A status, or 'filtered' = 200 with none of the owner's data. */
type Expect = number | 'filtered';
interface RouteCase {
  name: string;
  roles: Role[];
  owner: number;
  grantee: Expect;
  /** The `screen` grantee; the `search` grantee's expectation when not given. */
  screen?: Expect;
  stranger: Expect;
  call: (ctx: Ctx, auth?: string) => Promise<request.Response>;
}

const withAuth = (r: request.Test, auth?: string) => (auth ? r.set('Authorization', auth) : r);
const admin = 'admin' as const;
const ALL: Role[] = [...ROLES];
const OWNER = { keyId: randomUUID(), roles: ['admin'] as Role[], organization: 'bank-a' };
const newSubject = (c: Ctx) =>
  c.svc.subjects.create(OWNER, { displayName: 'D', category: 'other', watchlist: c.watchlistId, legalBasis: 'x', externalRef: null, caseRef: null, notes: null, reviewBy: null });
const newWatchlist = async (c: Ctx) => c.svc.watchlist('bank-a', `tmp-${randomUUID().slice(0, 8)}`, [{ organization: 'bank-g', access: 'search' }]);

/** A pending grant to `bank-a` of a new watchlist of `bank-x`; its id. */
const offerToBankA = async (c: Ctx) => {
  const x = { keyId: randomUUID(), roles: ['admin'] as Role[], organization: 'bank-x' };
  const w = await c.svc.watchlists.create(x, { name: `offer-${randomUUID().slice(0, 8)}`, description: null, jurisdiction: 'EU', legalBasis: 'x', retentionDays: null });
  return (await c.svc.watchlists.grant(x, w.id, { organization: 'bank-a', access: 'search' })).id;
};

/** An accepted grant to `bank-a` of a new watchlist of `bank-x`, and a customers watchlist of `bank-a`: what reverse screening needs. */
const acceptedToBankA = async (c: Ctx) => {
  const grantId = await offerToBankA(c);
  await c.svc.watchlists.answer(OWNER, grantId, 'accept');
  const customers = await c.svc.watchlists.create(OWNER, { name: `clients-${randomUUID().slice(0, 8)}`, description: null, jurisdiction: 'EU', legalBasis: 'x', retentionDays: null, kind: 'customers' });
  return { grantId, customers: customers.id };
};
/** …with reverse screening enabled on it by `bank-a`'s admin. */
const reverseOnBankA = async (c: Ctx) => {
  const r = await acceptedToBankA(c);
  await c.svc.reverse.enable(OWNER, r.grantId, { customersWatchlist: r.customers, purpose: 'p', caseRef: 'c' });
  return r.grantId;
};

/** The webhook URLs below are on loopback: reachable only with the test override. */
const LOOPBACK_RECEIVERS = { OUTBOUND_ALLOW_HTTP: 'true', OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: 'true' };
const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

const ROUTES: RouteCase[] = [
  { name: 'POST /v1/keys', roles: [admin], owner: 201, grantee: 403, stranger: 403, call: (c, a) => withAuth(request(c.svc.app).post('/v1/keys'), a).send({ roles: ['searcher'], organization: 'bank-a', holder: 'Matrix Holder' }) },
  { name: 'GET /v1/keys', roles: [admin], owner: 200, grantee: 'filtered', stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/keys'), a) },
  {
    name: 'DELETE /v1/keys/:id',
    roles: [admin],
    owner: 200,
    grantee: 404,
    stranger: 404,
    call: async (c, a) => withAuth(request(c.svc.app).delete(`/v1/keys/${(await c.svc.key(['searcher'], 'bank-a')).id}`), a),
  },
  {
    name: 'POST /v1/watchlists',
    roles: ['enroller', admin],
    owner: 201,
    grantee: 201,
    stranger: 201,
    call: (c, a) => withAuth(request(c.svc.app).post('/v1/watchlists'), a).send({ name: `wl-${randomUUID().slice(0, 8)}`, jurisdiction: 'EU', legalBasis: 'x' }),
  },
  { name: 'GET /v1/watchlists', roles: ALL, owner: 200, grantee: 200, stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/watchlists'), a) },
  { name: 'GET /v1/watchlists/:id', roles: ALL, owner: 200, grantee: 200, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/watchlists/${c.watchlistId}`), a) },
  { name: 'PATCH /v1/watchlists/:id', roles: ['enroller', admin], owner: 200, grantee: 403, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).patch(`/v1/watchlists/${c.watchlistId}`), a).send({ jurisdiction: 'EU' }) },
  { name: 'DELETE /v1/watchlists/:id', roles: ['enroller', admin], owner: 200, grantee: 403, screen: 404, stranger: 404, call: async (c, a) => withAuth(request(c.svc.app).delete(`/v1/watchlists/${await newWatchlist(c)}`), a) },
  {
    name: 'POST /v1/watchlists/:id/grants',
    roles: [admin],
    owner: 201,
    grantee: 403,
    stranger: 404,
    call: (c, a) => withAuth(request(c.svc.app).post(`/v1/watchlists/${c.watchlistId}/grants`), a).send({ organization: `org-${randomUUID().slice(0, 8)}`, access: 'screen' }),
  },
  { name: 'GET /v1/watchlists/:id/grants', roles: ['enroller', admin, 'auditor'], owner: 200, grantee: 403, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/watchlists/${c.watchlistId}/grants`), a) },
  {
    name: 'DELETE /v1/watchlists/:id/grants/:grantId',
    roles: [admin],
    owner: 200,
    grantee: 403,
    stranger: 404,
    call: async (c, a) => {
      const g = await c.svc.watchlists.grant(OWNER, c.watchlistId, { organization: `org-${randomUUID().slice(0, 8)}`, access: 'search' });
      return withAuth(request(c.svc.app).delete(`/v1/watchlists/${c.watchlistId}/grants/${g.id}`), a);
    },
  },
  // Grants received: `bank-a` is here the receiving organization of a fresh pending grant from `bank-x` (not one of the four).
  { name: 'GET /v1/grants', roles: ['enroller', admin, 'auditor'], owner: 200, grantee: 200, stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/grants'), a) },
  { name: 'POST /v1/grants/:id/accept', roles: [admin], owner: 200, grantee: 404, stranger: 404, call: async (c, a) => withAuth(request(c.svc.app).post(`/v1/grants/${await offerToBankA(c)}/accept`), a) },
  { name: 'POST /v1/grants/:id/decline', roles: [admin], owner: 200, grantee: 404, stranger: 404, call: async (c, a) => withAuth(request(c.svc.app).post(`/v1/grants/${await offerToBankA(c)}/decline`), a) },
  {
    name: 'PUT /v1/grants/:id/reverse-screening',
    roles: [admin],
    owner: 200,
    grantee: 404,
    stranger: 404,
    call: async (c, a) => {
      const r = await acceptedToBankA(c);
      return withAuth(request(c.svc.app).put(`/v1/grants/${r.grantId}/reverse-screening`), a).send({ customersWatchlist: r.customers, purpose: 'p', caseRef: 'c' });
    },
  },
  { name: 'GET /v1/grants/:id/reverse-screening', roles: ['enroller', admin, 'auditor'], owner: 200, grantee: 404, stranger: 404, call: async (c, a) => withAuth(request(c.svc.app).get(`/v1/grants/${await reverseOnBankA(c)}/reverse-screening`), a) },
  { name: 'DELETE /v1/grants/:id/reverse-screening', roles: [admin], owner: 200, grantee: 404, stranger: 404, call: async (c, a) => withAuth(request(c.svc.app).delete(`/v1/grants/${await reverseOnBankA(c)}/reverse-screening`), a) },
  { name: 'GET /v1/notifications', roles: ['enroller', 'reviewer', 'auditor', admin], owner: 200, grantee: 'filtered', stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/notifications'), a) },
  { name: 'PUT /v1/webhooks', roles: [admin], owner: 200, grantee: 200, stranger: 200, call: (c, a) => withAuth(request(c.svc.app).put('/v1/webhooks'), a).send({ url: 'http://127.0.0.1:18399/own', secret: WEBHOOK_SECRET }) },
  { name: 'GET /v1/webhooks', roles: [admin], owner: 200, grantee: 'filtered', stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/webhooks'), a) },
  {
    name: 'DELETE /v1/webhooks',
    roles: [admin],
    owner: 204,
    grantee: 204,
    stranger: 204,
    call: async (c, a) => {
      for (const organization of ['bank-a', 'bank-g', 'bank-b']) {
        await c.svc.notices.setWebhook({ keyId: randomUUID(), roles: ['admin'], organization }, { url: `http://127.0.0.1:18399/${organization}`, secret: WEBHOOK_SECRET });
      }
      return withAuth(request(c.svc.app).delete('/v1/webhooks'), a);
    },
  },
  { name: 'POST /v1/subjects', roles: ['enroller', admin], owner: 201, grantee: 400, stranger: 400, call: (c, a) => withAuth(request(c.svc.app).post('/v1/subjects'), a).send({ displayName: 'N', category: 'fraud', watchlist: c.watchlistId, legalBasis: 'x' }) },
  { name: 'GET /v1/subjects', roles: ['enroller', admin, 'reviewer', 'auditor'], owner: 200, grantee: 'filtered', stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/subjects?limit=200'), a) },
  // A grantee names the watchlist as a stranger would: it is not theirs to list (UNKNOWN_WATCHLIST, as for any unusable one).
  { name: 'GET /v1/subjects?watchlist=wl', roles: ['enroller', admin, 'reviewer', 'auditor'], owner: 200, grantee: 400, stranger: 400, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/subjects?watchlist=${c.watchlistId}`), a) },
  { name: 'GET /v1/subjects/:id', roles: ['enroller', admin, 'reviewer', 'auditor'], owner: 200, grantee: 404, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/subjects/${c.subjectId}`), a) },
  { name: 'PATCH /v1/subjects/:id', roles: ['enroller', admin], owner: 200, grantee: 404, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).patch(`/v1/subjects/${c.subjectId}`), a).send({ notes: 'n' }) },
  { name: 'DELETE /v1/subjects/:id', roles: ['enroller', admin], owner: 200, grantee: 404, stranger: 404, call: async (c, a) => withAuth(request(c.svc.app).delete(`/v1/subjects/${(await newSubject(c)).id}`), a) },
  { name: 'POST /v1/subjects/:id/faces', roles: ['enroller', admin], owner: 503, grantee: 404, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).post(`/v1/subjects/${c.subjectId}/faces`), a).attach('image', c.png, 'f.png') },
  { name: 'GET /v1/subjects/:id/faces/:faceId/image (no such face)', roles: ['enroller', admin, 'reviewer', 'auditor'], owner: 404, grantee: 404, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/subjects/${c.subjectId}/faces/${randomUUID()}/image`), a) },
  { name: 'GET /v1/subjects/:id/faces/:faceId/image?variant=crop', roles: ['enroller', admin, 'reviewer', 'auditor'], owner: 200, grantee: 404, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/subjects/${c.subjectId}/faces/${c.faceId}/image?variant=crop`), a) },
  { name: 'GET /v1/subjects/:id/faces/:faceId/image?variant=original', roles: ['enroller', admin, 'reviewer', 'auditor'], owner: 200, grantee: 404, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/subjects/${c.subjectId}/faces/${c.faceId}/image?variant=original`), a) },
  { name: 'DELETE /v1/subjects/:id/faces/:faceId', roles: ['enroller', admin], owner: 404, grantee: 404, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).delete(`/v1/subjects/${c.subjectId}/faces/${randomUUID()}`), a) },
  {
    name: 'POST /v1/searches (watchlists=wl)',
    roles: ['searcher'],
    owner: 503,
    grantee: 503,
    // investigative by default: a screen grant does not reach it
    screen: 400,
    stranger: 400,
    call: (c, a) => withAuth(request(c.svc.app).post('/v1/searches'), a).field('purpose', 'p').field('caseRef', 'c').field('watchlists', c.watchlistId).attach('image', c.png, 'p.png'),
  },
  { name: 'GET /v1/searches', roles: ['searcher', 'reviewer', 'auditor'], owner: 200, grantee: 'filtered', stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/searches'), a) },
  { name: 'GET /v1/searches/:id', roles: ['searcher', 'reviewer', 'auditor'], owner: 200, grantee: 404, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/searches/${c.searchId}`), a) },
  {
    name: 'POST /v1/searches/:id/reviews',
    roles: ['reviewer'],
    owner: 201,
    grantee: 404,
    stranger: 404,
    call: (c, a) => withAuth(request(c.svc.app).post(`/v1/searches/${c.searchId}/reviews`), a).send({ faceIndex: 0, subjectId: c.subjectId, decision: 'inconclusive', rationale: 'r' }),
  },
  { name: 'GET /v1/searches/:id/report', roles: ['searcher', 'reviewer', 'auditor'], owner: 200, grantee: 404, stranger: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/searches/${c.searchId}/report`), a) },
  {
    name: 'POST /v1/verify',
    roles: ['searcher'],
    owner: 503,
    grantee: 503,
    screen: 403,
    stranger: 404,
    call: (c, a) => withAuth(request(c.svc.app).post('/v1/verify'), a).field('subjectId', c.subjectId).field('purpose', 'p').field('caseRef', 'c').attach('image', c.png, 'p.png'),
  },
  { name: 'GET /v1/audit/events', roles: ['auditor'], owner: 200, grantee: 'filtered', stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/audit/events?limit=1000'), a) },
  // Whole-chain operations need organization `*`: an organization's own auditor is refused too.
  { name: 'GET /v1/audit/verify', roles: ['auditor'], owner: 403, grantee: 403, stranger: 403, call: (c, a) => withAuth(request(c.svc.app).get('/v1/audit/verify'), a) },
  { name: 'GET /v1/audit/export', roles: ['auditor'], owner: 403, grantee: 403, stranger: 403, call: (c, a) => withAuth(request(c.svc.app).get('/v1/audit/export'), a) },
  { name: 'GET /v1/audit/reads', roles: ['auditor'], owner: 200, grantee: 'filtered', stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/audit/reads'), a) },
  { name: 'GET /v1/audit/anchors', roles: ['auditor'], owner: 403, grantee: 403, stranger: 403, call: (c, a) => withAuth(request(c.svc.app).get('/v1/audit/anchors'), a) },
  { name: 'GET /v1/oversight/stats', roles: ['auditor'], owner: 200, grantee: 'filtered', stranger: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/oversight/stats'), a) },
];

const ORGS: Org[] = ['bank-a', 'bank-g', 'bank-s', 'bank-b'];
const SUBJECT_NAME = 'Gallery subject of bank-a';
const SECRET = 'SECRET-PURPOSE-OF-BANK-A';

describe.each(backends())('authorization matrix on $name', (backend) => {
  let t: TestDb;
  const ctx = {} as Ctx;
  const keys = {} as Record<Org, Record<Role, string>>;

  beforeAll(async () => {
    t = await backend.open();
    // One environment (and so one image key) for both instances: images enrolled through the second are read through the first.
    const env = { ...serviceEnv(), ...LOOPBACK_RECEIVERS };
    ctx.svc = await startService(t.db, { env });
    ctx.png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888888' } }).png().toBuffer();
    for (const org of ORGS) {
      keys[org] = {} as Record<Role, string>;
      for (const role of ROLES) keys[org][role] = (await ctx.svc.key([role], org)).auth;
    }
    const runner = await ctx.svc.key(['searcher'], 'bank-a');
    ctx.watchlistId = await ctx.svc.watchlist('bank-a', 'wl', [{ organization: 'bank-g', access: 'search' }, { organization: 'bank-s', access: 'screen' }]);
    const subject = await ctx.svc.subjects.create(OWNER, { displayName: SUBJECT_NAME, category: 'fraud', watchlist: 'wl', legalBasis: 'x', externalRef: null, caseRef: null, notes: null, reviewBy: null });
    ctx.subjectId = subject.id;
    // The subject's face and bank-a's search go through a second instance of the service on the same database that has a (scripted)
    // face engine; the instance under test has none, so its face routes answer 503 NOT_READY after authorization.
    const fake = scriptedEngine();
    const withEngine = await startService(t.db, { env, engine: fake.engine, migrateFirst: false });
    await withEngine.startEngine();
    const gallery = scriptedGallery(withEngine.app, fake);
    await gallery.addFace(keys['bank-a'].enroller, subject.id, 1);
    ctx.faceId = (await ctx.svc.subjects.listFaces(OWNER, subject.id))[0]!.id;
    ctx.searchId = await gallery.search(runner.auth, [1], { purpose: SECRET });
    await withEngine.close();
    // A notice to bank-a (as a foreign search of wl would leave), written through the notice repository.
    ctx.noticeId = randomUUID();
    await t.db.transaction((tx) =>
      createNoticeRepo().insert(tx, { id: ctx.noticeId, at: new Date().toISOString(), organization: 'bank-a', watchlistId: ctx.watchlistId, subjectId: subject.id, searchId: ctx.searchId, searchingOrganization: 'bank-c', mode: 'screening', similarity: 0.9, estimatedFalseMatchRate: 1e-5, purpose: 'p', caseRef: 'c' }, randomUUID()),
    );
    await ctx.svc.notices.setWebhook(OWNER, { url: 'http://127.0.0.1:18399/bank-a-only', secret: WEBHOOK_SECRET });
  });
  afterAll(() => t.drop());

  it.each(ROUTES.map((r) => [r.name, r] as const))('%s answers 401 UNAUTHENTICATED without a key', async (_n, route) => {
    const res = await route.call(ctx);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });

  it.each(ROUTES.map((r) => [r.name, r] as const))('%s: every role × owner/grantee/stranger gets its expected status and none of the owner’s private data', async (_n, route) => {
    const seen: string[] = [];
    for (const org of ORGS) {
      for (const role of ROLES) {
        const res = await route.call(ctx, keys[org][role]);
        const allowed = route.roles.includes(role);
        const rule = org === 'bank-a' ? route.owner : org === 'bank-g' ? route.grantee : org === 'bank-s' ? (route.screen ?? route.grantee) : route.stranger;
        const expected = !allowed ? 403 : rule === 'filtered' ? 200 : rule;
        seen.push(`${org}/${role}:${res.status}`);
        expect({ org, role, status: res.status }).toEqual({ org, role, status: expected });
        if (!allowed) expect(res.body.error.code).toBe('FORBIDDEN');
        if (org === 'bank-a') continue;
        const body = JSON.stringify(res.body ?? {}) + (res.text ?? '');
        for (const secret of [SECRET, ctx.searchId, ctx.noticeId, 'bank-a-only', SUBJECT_NAME, ctx.faceId]) expect({ org, role, leaks: body.includes(secret) }).toEqual({ org, role, leaks: false });
        if (res.status === 200) expect(res.type).not.toMatch(/^image\//);
        if (org === 'bank-b') {
          // (an error may echo the id the caller itself sent, and so may the audit event of its own refused search; a success
          // must not reveal it otherwise)
          const own = (e: { type: string; actor: { organization: string } }) => e.type.endsWith('.failed') && e.actor.organization === org;
          const shown = route.name === 'GET /v1/audit/events' && res.status < 300 ? JSON.stringify(res.body.items.filter((e: Parameters<typeof own>[0]) => !own(e))) : body;
          if (res.status < 300) expect(shown).not.toContain(ctx.watchlistId);
        }
        if (rule === 'filtered') expect(body).not.toContain('"organization":"bank-a"');
      }
    }
    expect(seen).toHaveLength(ROLES.length * ORGS.length);
  });

  it('lets organization * (auditor, admin) read subject listings, records and both image variants, and no grantee', async () => {
    const star = { auditor: (await ctx.svc.key(['auditor'], '*')).auth, admin: (await ctx.svc.key(['admin'], '*')).auth };
    const original = await request(ctx.svc.app).get(`/v1/subjects/${ctx.subjectId}/faces/${ctx.faceId}/image?variant=original`).set('Authorization', keys['bank-a'].enroller).expect(200);
    for (const [who, auth] of Object.entries(star)) {
      const list = await request(ctx.svc.app).get(`/v1/subjects?watchlist=${ctx.watchlistId}`).set('Authorization', auth).expect(200);
      expect({ who, names: list.body.items.map((x: { displayName: string }) => x.displayName) }).toEqual({ who, names: expect.arrayContaining([SUBJECT_NAME]) });
      const rec = await request(ctx.svc.app).get(`/v1/subjects/${ctx.subjectId}`).set('Authorization', auth).expect(200);
      expect(rec.body.faces.map((f: { id: string }) => f.id)).toEqual([ctx.faceId]);
      for (const variant of ['crop', 'original']) {
        const img = await request(ctx.svc.app).get(`/v1/subjects/${ctx.subjectId}/faces/${ctx.faceId}/image?variant=${variant}`).set('Authorization', auth).expect(200);
        if (variant === 'original') expect(Buffer.compare(img.body as Buffer, original.body as Buffer)).toBe(0);
      }
    }
    // …and the same reads by both grantees' every read role are 404 (records, images) or leave the subject out (listing).
    for (const org of ['bank-g', 'bank-s'] as const) {
      for (const role of ['enroller', 'admin', 'reviewer', 'auditor'] as const) {
        const list = await request(ctx.svc.app).get('/v1/subjects?limit=200').set('Authorization', keys[org][role]).expect(200);
        expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(ctx.subjectId);
        for (const path of [`/v1/subjects/${ctx.subjectId}`, `/v1/subjects/${ctx.subjectId}/faces/${ctx.faceId}/image?variant=original`, `/v1/subjects/${ctx.subjectId}/faces/${ctx.faceId}/image?variant=crop`]) {
          const res = await request(ctx.svc.app).get(path).set('Authorization', keys[org][role]);
          expect({ org, role, path, status: res.status, code: res.body?.error?.code }).toEqual({ org, role, path, status: 404, code: 'NOT_FOUND' });
        }
      }
    }
  });

  it('answers UNKNOWN_WATCHLIST to a stranger naming the watchlist and to anyone enrolling onto a watchlist they do not own', async () => {
    const search = await ROUTES.find((r) => r.name.startsWith('POST /v1/searches'))!.call(ctx, keys['bank-b'].searcher);
    expect(search.body.error.code).toBe('UNKNOWN_WATCHLIST');
    const enrol = await ROUTES.find((r) => r.name === 'POST /v1/subjects')!.call(ctx, keys['bank-g'].enroller);
    expect(enrol.body.error.code).toBe('UNKNOWN_WATCHLIST');
  });

  it('lets an auditor of organization * verify, export and list anchors, and see every organization', async () => {
    const star = (await ctx.svc.key(['auditor'], '*')).auth;
    for (const p of ['/v1/audit/verify', '/v1/audit/export', '/v1/audit/anchors', `/v1/searches/${ctx.searchId}`, `/v1/searches/${ctx.searchId}/report`, `/v1/subjects/${ctx.subjectId}`, `/v1/watchlists/${ctx.watchlistId}`, `/v1/watchlists/${ctx.watchlistId}/grants`]) {
      expect({ p, status: (await request(ctx.svc.app).get(p).set('Authorization', star)).status }).toEqual({ p, status: 200 });
    }
    const notices = await request(ctx.svc.app).get('/v1/notifications').set('Authorization', star).expect(200);
    expect(notices.body.items.map((n: { id: string }) => n.id)).toContain(ctx.noticeId);
    const stats = await request(ctx.svc.app).get('/v1/oversight/stats').set('Authorization', star).expect(200);
    expect(stats.body.searchesByOrganization).toEqual(expect.arrayContaining([{ organization: 'bank-a', searches: 1 }]));
  });
});
