import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import request from 'supertest';
import { ROLES, type Role } from '../../src/domain/api-key';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { seedSearch, serviceEnv } from './oversight.fixtures';

/**
 * Every /v1 route × every role × own vs foreign organization. The resources (a search, keys) belong to organization `bank-a`;
 * the caller's key is of `bank-a` (own) or `bank-b` (foreign). The gallery is shared by design (API.md), so subject routes
 * answer the same for both. Without the face engine, routes that need it answer 503 NOT_READY after authorization passed.
 */
type Svc = Awaited<ReturnType<typeof startService>>;
interface Ctx {
  svc: Svc;
  searchId: string;
  subjectId: string;
  png: Buffer;
}
interface RouteCase {
  name: string;
  roles: Role[];
  /** Status for an allowed role of the resource's own organization. */
  own: number;
  /** Status for an allowed role of another organization; 'filtered' = 200 with only the caller's organization's data. */
  foreign: number | 'filtered';
  call: (ctx: Ctx, auth?: string) => Promise<request.Response>;
}

const withAuth = (r: request.Test, auth?: string) => (auth ? r.set('Authorization', auth) : r);
const admin = 'admin' as const;

const ROUTES: RouteCase[] = [
  { name: 'POST /v1/keys', roles: [admin], own: 201, foreign: 403, call: (c, a) => withAuth(request(c.svc.app).post('/v1/keys'), a).send({ roles: ['searcher'], organization: 'bank-a', holder: 'Matrix Holder' }) },
  { name: 'GET /v1/keys', roles: [admin], own: 200, foreign: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/keys'), a) },
  {
    name: 'DELETE /v1/keys/:id',
    roles: [admin],
    own: 200,
    foreign: 404,
    call: async (c, a) => withAuth(request(c.svc.app).delete(`/v1/keys/${(await c.svc.key(['searcher'], 'bank-a')).id}`), a),
  },
  { name: 'POST /v1/subjects', roles: ['enroller', admin], own: 201, foreign: 201, call: (c, a) => withAuth(request(c.svc.app).post('/v1/subjects'), a).send({ displayName: 'N', category: 'fraud', watchlist: 'wl', legalBasis: 'x' }) },
  { name: 'GET /v1/subjects', roles: ['enroller', admin, 'reviewer', 'auditor'], own: 200, foreign: 200, call: (c, a) => withAuth(request(c.svc.app).get('/v1/subjects'), a) },
  { name: 'GET /v1/subjects/:id', roles: ['enroller', admin, 'reviewer', 'auditor'], own: 200, foreign: 200, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/subjects/${c.subjectId}`), a) },
  { name: 'PATCH /v1/subjects/:id', roles: ['enroller', admin], own: 200, foreign: 200, call: (c, a) => withAuth(request(c.svc.app).patch(`/v1/subjects/${c.subjectId}`), a).send({ notes: 'n' }) },
  {
    name: 'DELETE /v1/subjects/:id',
    roles: ['enroller', admin],
    own: 200,
    foreign: 200,
    call: async (c, a) => {
      const s = await c.svc.subjects.create({ keyId: randomUUID(), roles: ['enroller'], organization: 'bank-a' }, { displayName: 'D', category: 'other', watchlist: 'wl', legalBasis: 'x', externalRef: null, caseRef: null, notes: null, reviewBy: null });
      return withAuth(request(c.svc.app).delete(`/v1/subjects/${s.id}`), a);
    },
  },
  { name: 'POST /v1/subjects/:id/faces', roles: ['enroller', admin], own: 503, foreign: 503, call: (c, a) => withAuth(request(c.svc.app).post(`/v1/subjects/${c.subjectId}/faces`), a).attach('image', c.png, 'f.png') },
  { name: 'GET /v1/subjects/:id/faces/:faceId/image', roles: ['enroller', admin, 'reviewer', 'auditor'], own: 404, foreign: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/subjects/${c.subjectId}/faces/${randomUUID()}/image`), a) },
  { name: 'DELETE /v1/subjects/:id/faces/:faceId', roles: ['enroller', admin], own: 404, foreign: 404, call: (c, a) => withAuth(request(c.svc.app).delete(`/v1/subjects/${c.subjectId}/faces/${randomUUID()}`), a) },
  {
    name: 'POST /v1/searches',
    roles: ['searcher'],
    own: 503,
    foreign: 503,
    call: (c, a) => withAuth(request(c.svc.app).post('/v1/searches'), a).field('purpose', 'p').field('caseRef', 'c').attach('image', c.png, 'p.png'),
  },
  { name: 'GET /v1/searches', roles: ['searcher', 'reviewer', 'auditor'], own: 200, foreign: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/searches'), a) },
  { name: 'GET /v1/searches/:id', roles: ['searcher', 'reviewer', 'auditor'], own: 200, foreign: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/searches/${c.searchId}`), a) },
  {
    name: 'POST /v1/searches/:id/reviews',
    roles: ['reviewer'],
    own: 201,
    foreign: 404,
    call: (c, a) => withAuth(request(c.svc.app).post(`/v1/searches/${c.searchId}/reviews`), a).send({ faceIndex: 0, subjectId: c.subjectId, decision: 'inconclusive', rationale: 'r' }),
  },
  { name: 'GET /v1/searches/:id/report', roles: ['searcher', 'reviewer', 'auditor'], own: 200, foreign: 404, call: (c, a) => withAuth(request(c.svc.app).get(`/v1/searches/${c.searchId}/report`), a) },
  {
    name: 'POST /v1/verify',
    roles: ['searcher'],
    own: 503,
    foreign: 503,
    call: (c, a) => withAuth(request(c.svc.app).post('/v1/verify'), a).field('subjectId', c.subjectId).field('purpose', 'p').field('caseRef', 'c').attach('image', c.png, 'p.png'),
  },
  { name: 'GET /v1/audit/events', roles: ['auditor'], own: 200, foreign: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/audit/events?limit=1000'), a) },
  // Whole-chain operations need organization `*`: an organization's own auditor is refused too.
  { name: 'GET /v1/audit/verify', roles: ['auditor'], own: 403, foreign: 403, call: (c, a) => withAuth(request(c.svc.app).get('/v1/audit/verify'), a) },
  { name: 'GET /v1/audit/export', roles: ['auditor'], own: 403, foreign: 403, call: (c, a) => withAuth(request(c.svc.app).get('/v1/audit/export'), a) },
  { name: 'GET /v1/audit/anchors', roles: ['auditor'], own: 403, foreign: 403, call: (c, a) => withAuth(request(c.svc.app).get('/v1/audit/anchors'), a) },
  { name: 'GET /v1/oversight/stats', roles: ['auditor'], own: 200, foreign: 'filtered', call: (c, a) => withAuth(request(c.svc.app).get('/v1/oversight/stats'), a) },
];

const SECRET = 'SECRET-PURPOSE-OF-BANK-A';

describe.each(backends())('authorization matrix on $name', (backend) => {
  let t: TestDb;
  const ctx = {} as Ctx;
  const keys = {} as Record<'bank-a' | 'bank-b', Record<Role, string>>;

  beforeAll(async () => {
    t = await backend.open();
    ctx.svc = await startService(t.db, { env: serviceEnv() });
    ctx.png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888888' } }).png().toBuffer();
    for (const org of ['bank-a', 'bank-b'] as const) {
      keys[org] = {} as Record<Role, string>;
      for (const role of ROLES) keys[org][role] = (await ctx.svc.key([role], org)).auth;
    }
    const runner = await ctx.svc.key(['searcher'], 'bank-a');
    const subject = await ctx.svc.subjects.create({ keyId: runner.id, roles: ['enroller'], organization: 'bank-a' }, { displayName: 'Gallery subject', category: 'fraud', watchlist: 'wl', legalBasis: 'x', externalRef: null, caseRef: null, notes: null, reviewBy: null });
    ctx.subjectId = subject.id;
    ctx.searchId = await seedSearch(t.db, { keyId: runner.id, organization: 'bank-a' }, { candidates: [{ faceIndex: 0, subjectId: subject.id }], purpose: SECRET });
  });
  afterAll(() => t.drop());

  it.each(ROUTES.map((r) => [r.name, r] as const))('%s answers 401 UNAUTHENTICATED without a key', async (_n, route) => {
    const res = await route.call(ctx);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });

  it.each(ROUTES.map((r) => [r.name, r] as const))('%s: every role × own/foreign organization gets its expected status and no other organization’s data', async (_n, route) => {
    const seen: string[] = [];
    for (const org of ['bank-a', 'bank-b'] as const) {
      for (const role of ROLES) {
        const res = await route.call(ctx, keys[org][role]);
        const allowed = route.roles.includes(role);
        const expected = !allowed ? 403 : org === 'bank-a' ? route.own : route.foreign === 'filtered' ? 200 : route.foreign;
        seen.push(`${org}/${role}:${res.status}`);
        expect({ org, role, status: res.status }).toEqual({ org, role, status: expected });
        if (!allowed) {
          expect(res.body.error.code).toBe('FORBIDDEN');
        }
        if (org === 'bank-b') {
          const body = JSON.stringify(res.body ?? {}) + (res.text ?? '');
          expect(body).not.toContain(SECRET);
          expect(body).not.toContain(ctx.searchId);
          if (route.foreign === 'filtered') expect(body).not.toContain('"organization":"bank-a"');
        }
      }
    }
    expect(seen).toHaveLength(ROLES.length * 2);
  });

  it('lets an auditor of organization * verify, export and list anchors, and see every organization', async () => {
    const star = (await ctx.svc.key(['auditor'], '*')).auth;
    for (const p of ['/v1/audit/verify', '/v1/audit/export', '/v1/audit/anchors', `/v1/searches/${ctx.searchId}`, `/v1/searches/${ctx.searchId}/report`]) {
      expect({ p, status: (await request(ctx.svc.app).get(p).set('Authorization', star)).status }).toEqual({ p, status: 200 });
    }
    const stats = await request(ctx.svc.app).get('/v1/oversight/stats').set('Authorization', star).expect(200);
    expect(stats.body.searchesByOrganization).toEqual(expect.arrayContaining([{ organization: 'bank-a', searches: 1 }]));
  });
});
