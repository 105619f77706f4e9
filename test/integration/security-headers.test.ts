import request from 'supertest';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { serviceEnv } from './oversight.fixtures';

/** Security headers on every response, RateLimit-* headers, and a per-address limit on unauthenticated requests (clock injected). */
describe.each(backends())('security headers and rate limits on $name', (backend) => {
  let t: TestDb;
  let now = 0;
  let svc: Awaited<ReturnType<typeof startService>>;
  let limited: Awaited<ReturnType<typeof startService>>;
  let admin: string;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv() });
    admin = (await svc.key(['admin'], '*')).auth;
    limited = await startService(t.db, {
      env: { ...serviceEnv(), RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '2' },
      migrateFirst: false,
      clock: () => now,
    });
  });
  afterAll(() => t.drop());

  it.each([
    ['GET', '/healthz', 200],
    ['GET', '/openapi.json', 200],
    ['GET', '/v1/keys', 401],
    ['GET', '/v1/nowhere', 401],
    ['GET', '/nowhere', 404],
  ])('%s %s (%i) carries nosniff, frame denial, Referrer-Policy and Cache-Control: no-store', async (_m, path, status) => {
    const res = await request(svc.app).get(path);
    expect(res.status).toBe(status);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('sends no-store and the headers on authenticated case data too', async () => {
    const res = await request(svc.app).get('/v1/keys').set('Authorization', admin).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('counts down RateLimit-Remaining per key, answers 429 with Retry-After and RateLimit-*, and refills with the clock', async () => {
    now = 1_000_000;
    const seen: Array<[number, string, string]> = [];
    for (let i = 0; i < 4; i++) {
      const r = await request(limited.app).get('/v1/keys').set('Authorization', admin);
      seen.push([r.status, String(r.headers['ratelimit-limit']), String(r.headers['ratelimit-remaining'])]);
      if (r.status === 429) {
        expect(r.body.error.code).toBe('RATE_LIMITED');
        expect(r.headers['retry-after']).toBe('20');
        expect(r.headers['ratelimit-reset']).toBe('60');
      }
    }
    expect(seen).toEqual([[200, '3', '2'], [200, '3', '1'], [200, '3', '0'], [429, '3', '0']]);
    now += 19_999;
    expect((await request(limited.app).get('/v1/keys').set('Authorization', admin)).status).toBe(429);
    now += 1;
    expect((await request(limited.app).get('/v1/keys').set('Authorization', admin)).status).toBe(200);
  });

  it('limits failed authentications per address (429 once used up), and not keyed requests from that address', async () => {
    now = 5_000_000;
    const bad = () => request(limited.app).get('/v1/keys').set('Authorization', 'Bearer fm_not-a-real-key-000000000000');
    expect((await bad()).status).toBe(401);
    expect((await request(limited.app).get('/v1/keys')).status).toBe(401);
    const third = await bad();
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('RATE_LIMITED');
    expect(Number(third.headers['retry-after'])).toBe(30);
    // A valid key from the same address is limited by its own bucket only.
    expect((await request(limited.app).get('/v1/keys').set('Authorization', admin)).status).toBe(200);
    now += 30_000;
    expect((await bad()).status).toBe(401);
  });
});
