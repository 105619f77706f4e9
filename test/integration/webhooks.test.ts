import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * Hit notices delivered as signed webhooks by the outbox worker, against a real HTTP receiver on 127.0.0.1. The worker is
 * tick-driven with the test's clock, so backoff is checked without waiting.
 */
interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A receiver on `port` (0 = any free port) answering `status()` to each POST. */
async function receiver(port: number, status: () => number) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      got.push({ body, headers: req.headers });
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { got, port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const SECRET = `whsec_${Buffer.from('fiu-webhook-secret-0123456789-abcdef').toString('base64')}`;
/** Standard Webhooks: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>, the key being the whsec_ secret's decoded bytes. */
const sign = (secret: string, r: Received) =>
  `v1,${createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest('base64')}`;
/** Tests reach loopback receivers only, and only with the test override named here. */
const LOOPBACK = { OUTBOUND_ALLOW_HTTP: 'true', OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: 'true' };
const RETRY = { baseMs: 1000, maxMs: 4000, maxAttempts: 4 };

describe.each(backends())('hit notices and webhooks on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let now = new Date(Date.now() + 60_000);
  const at = (ms: number) => (now = new Date(now.getTime() + ms));
  let fiuAdmin: string;
  let fiuReviewer: string;
  let bankSearcher: string;
  let fiuSearcher: string;
  const photo = seededPng(77);

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: { ...serviceEnv(), ...LOOPBACK }, engine: bytesFaceEngine(), webhooks: { clock: () => now, retry: RETRY } });
    await svc.startEngine();
    fiuAdmin = (await svc.key(['admin'], 'fiu')).auth;
    fiuReviewer = (await svc.key(['reviewer'], 'fiu')).auth;
    fiuSearcher = (await svc.key(['searcher'], 'fiu')).auth;
    bankSearcher = (await svc.key(['searcher'], 'bank-a')).auth;
    await svc.watchlist('fiu', 'ml', [{ organization: 'bank-a', access: 'screen' }]);
    const enroller = (await svc.key(['enroller'], 'fiu')).auth;
    const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'Launderer', category: 'money_laundering', watchlist: 'ml', legalBasis: 'x' }).expect(201);
    await request(svc.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', await photo, 'f.png').expect(201);
  });
  afterAll(() => t.drop());

  const screen = async (auth: string, image?: Buffer) =>
    request(svc.app).post('/v1/searches').set('Authorization', auth).attach('image', image ?? (await photo), 'p.png')
      .field('purpose', 'KYC onboarding').field('caseRef', 'APP-1').field('mode', 'screening').expect(200);
  const deliveries = async () => (await request(svc.app).get('/v1/webhooks').set('Authorization', fiuAdmin).expect(200)).body.deliveries;
  const notices = async () => (await request(svc.app).get('/v1/notifications').set('Authorization', fiuReviewer).expect(200)).body.items;

  it("writes a notice for the owner when another organization's screening hits its watchlist, none for the owner's own searches or misses", async () => {
    const own = await screen(fiuSearcher);
    expect(own.body.faces[0].candidates).toHaveLength(1);
    expect(await notices()).toEqual([]);
    const miss = await screen(bankSearcher, await seededPng(99));
    expect(miss.body.faces[0].candidates).toEqual([]);
    expect(await notices()).toEqual([]);

    const hit = await screen(bankSearcher);
    const c = hit.body.faces[0].candidates[0];
    expect(c).toMatchObject({ withheld: 'screen', displayName: null });
    expect(c.similarity).toBeUndefined();
    const list = await notices();
    expect(list).toEqual([
      {
        id: expect.any(String),
        at: hit.body.createdAt,
        watchlistId: c.watchlistId,
        subjectId: c.subjectId,
        searchId: hit.body.searchId,
        searchingOrganization: 'bank-a',
        mode: 'screening',
        // the owner's notice carries the score; the screening bank's answer does not (a screen grant: hit and reference only)
        similarity: expect.any(Number),
        estimatedFalseMatchRate: expect.any(Number),
        purpose: 'KYC onboarding',
        caseRef: 'APP-1',
      },
    ]);
    // Investigative searches are refused a screen grant: the watchlist is not searched at all, and naming it is UNKNOWN_WATCHLIST.
    const inv = await request(svc.app).post('/v1/searches').set('Authorization', bankSearcher).attach('image', await photo, 'p.png').field('purpose', 'p').field('caseRef', 'c').expect(200);
    expect(inv.body.faces[0].candidates).toEqual([]);
    const named = await request(svc.app).post('/v1/searches').set('Authorization', bankSearcher).attach('image', await photo, 'p.png').field('purpose', 'p').field('caseRef', 'c').field('watchlists', 'ml');
    expect(named.status).toBe(400);
    expect(named.body.error.code).toBe('UNKNOWN_WATCHLIST');
  });

  it('delivers a signed notice to a receiver that is down and then comes back, with exponential backoff and every attempt recorded', async () => {
    const probe = await receiver(0, () => 200);
    const port = probe.port;
    await probe.close(); // the receiver is down
    await request(svc.app).put('/v1/webhooks').set('Authorization', fiuAdmin).send({ url: `http://127.0.0.1:${port}/hook`, secret: SECRET }).expect(200);

    const hit = await screen(bankSearcher); // the search neither waits for nor fails on delivery
    const notice = (await notices()).find((n: { searchId: string }) => n.searchId === hit.body.searchId);
    expect(await svc.webhookWorker.tick()).toEqual({ attempted: 1, delivered: 0 });
    let [d] = await deliveries();
    expect(d).toMatchObject({ noticeId: notice.id, status: 'pending', attempts: [{ attempt: 1, outcome: 'connect_failed' }] });
    expect(Date.parse(d.nextAttemptAt) - now.getTime()).toBe(RETRY.baseMs);

    at(RETRY.baseMs - 1);
    expect(await svc.webhookWorker.tick()).toEqual({ attempted: 0, delivered: 0 }); // not due yet

    // Back, but failing: the second failure doubles the delay.
    let answer = 503;
    const up = await receiver(port, () => answer);
    try {
      at(1);
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 1, delivered: 0 });
      [d] = await deliveries();
      expect(d.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['connect_failed', 'http_5xx']);
      expect(Date.parse(d.nextAttemptAt) - now.getTime()).toBe(2 * RETRY.baseMs);

      answer = 204;
      at(2 * RETRY.baseMs);
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 1, delivered: 1 });
      [d] = await deliveries();
      expect(d).toMatchObject({ status: 'delivered', nextAttemptAt: null, deliveredAt: now.toISOString() });
      expect(d.attempts.map((a: { attempt: number; outcome: string }) => [a.attempt, a.outcome])).toEqual([[1, 'connect_failed'], [2, 'http_5xx'], [3, 'delivered']]);
      // The admin sees classes only: no foreign status line, body or error text.
      expect(Object.keys(d.attempts[1]).sort()).toEqual(['at', 'attempt', 'outcome']);

      const last = up.got[up.got.length - 1]!;
      expect(last.headers['webhook-id']).toBe(notice.id);
      expect(Number(last.headers['webhook-timestamp'])).toBe(Math.floor(now.getTime() / 1000));
      expect(last.headers['webhook-signature']).toBe(sign(SECRET, last));
      expect(last.headers['x-facematch-signature']).toBeUndefined();
      expect(JSON.parse(last.body)).toEqual(notice);
      expect(last.body).not.toContain('Launderer');
      at(60_000);
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 0, delivered: 0 }); // delivered once only
    } finally {
      await up.close();
    }
  });

  it('gives up after the last attempt and marks the delivery failed; the notice stays in the inbox', async () => {
    const probe = await receiver(0, () => 500);
    try {
      await request(svc.app).put('/v1/webhooks').set('Authorization', fiuAdmin).send({ url: `http://127.0.0.1:${probe.port}/hook`, secret: SECRET }).expect(200);
      const hit = await screen(bankSearcher);
      for (let i = 0; i < RETRY.maxAttempts; i++) {
        expect(await svc.webhookWorker.tick()).toEqual({ attempted: 1, delivered: 0 });
        at(RETRY.maxMs);
      }
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 0, delivered: 0 });
      const [d] = await deliveries();
      expect(d).toMatchObject({ status: 'failed', nextAttemptAt: null });
      expect(d.attempts).toHaveLength(RETRY.maxAttempts);
      expect((await notices()).map((n: { searchId: string }) => n.searchId)).toContain(hit.body.searchId);
      expect(probe.got).toHaveLength(RETRY.maxAttempts);
    } finally {
      await probe.close();
    }
  });

  it('sends a signed test delivery on request and says what came of it (audited, not queued)', async () => {
    await request(svc.app).delete('/v1/webhooks').set('Authorization', fiuAdmin);
    expect((await request(svc.app).post('/v1/webhooks/test').set('Authorization', fiuAdmin).expect(404)).body.error.code).toBe('NOT_FOUND');
    const probe = await receiver(0, () => 204);
    try {
      await request(svc.app).put('/v1/webhooks').set('Authorization', fiuAdmin).send({ url: `http://127.0.0.1:${probe.port}/hook`, secret: SECRET }).expect(200);
      const ok = await request(svc.app).post('/v1/webhooks/test').set('Authorization', fiuAdmin).expect(200);
      expect(ok.body).toEqual({ delivered: true, outcome: 'delivered' });
      expect(probe.got).toHaveLength(1);
      const body = JSON.parse(probe.got[0]!.body) as Record<string, unknown>;
      expect(body).toMatchObject({ test: true, organization: 'fiu' });
      expect(probe.got[0]!.headers['x-facematch-test']).toBe('true');
      expect(probe.got[0]!.headers['webhook-signature']).toBe(sign(SECRET, probe.got[0]!));
      expect((await deliveries()).filter((d: { noticeId: string }) => d.noticeId === body.id)).toEqual([]);
    } finally {
      await probe.close();
    }
    const down = await request(svc.app).post('/v1/webhooks/test').set('Authorization', fiuAdmin).expect(200);
    expect(down.body).toEqual({ delivered: false, outcome: 'connect_failed' });
    const events = (await request(svc.app).get('/v1/audit/events?type=webhook.tested').set('Authorization', (await svc.key(['auditor'], '*')).auth).expect(200)).body.items;
    expect(events.map((e: { payload: { delivered: boolean } }) => e.payload.delivered)).toEqual([true, false]);
  });

  it('never stores the webhook secret in clear and never returns it', async () => {
    const rows = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook WHERE position($1 in encode(secret_sealed, 'escape')) > 0 OR position($1 in url) > 0", [SECRET]);
    expect(rows.rows[0]!.n).toBe(0);
    expect(JSON.stringify((await request(svc.app).get('/v1/webhooks').set('Authorization', fiuAdmin).expect(200)).body)).not.toContain(SECRET);
  });
});
