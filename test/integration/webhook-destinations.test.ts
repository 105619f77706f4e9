import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import request from 'supertest';
import type { Resolver } from '../../src/platform/http/outbound';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * Where webhooks may go and how long they may take, on loopback only: refusals at registration (literal addresses in every
 * numeric form, names that resolve to internal addresses, schemes), a DNS answer that changes between registration and
 * delivery (an injected resolver), a redirect, a receiver that streams without end, and one slow receiver that must not
 * delay another organization's notices while its own organization stays within its cap.
 */
interface Rx {
  port: number;
  got: string[];
  open: () => number;
  release: () => void;
  close: () => Promise<void>;
}

/** A receiver answering with `answer(res)`; `hold` keeps every request open until release(). */
async function receiver(answer: (res: http.ServerResponse) => void, hold = false): Promise<Rx> {
  const got: string[] = [];
  const waiting: http.ServerResponse[] = [];
  const sockets = new Set<Socket>();
  let held = hold;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      got.push(String(req.headers['webhook-id']));
      if (held) waiting.push(res);
      else answer(res);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    got,
    open: () => waiting.filter((r) => !r.writableEnded && !r.destroyed).length,
    release: () => {
      held = false;
      for (const r of waiting.splice(0)) answer(r);
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>) {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting: ${what}`);
}

describe.each(backends())('webhook destinations and bounded delivery on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  const dns = new Map<string, string>();
  const resolve: Resolver = async (host) => {
    const a = dns.get(host);
    if (!a) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    return [{ address: a, family: a.includes(':') ? 6 : 4 }];
  };
  const admins: Record<string, string> = {};
  let bank: string;
  const photo = seededPng(21);

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, {
      env: { ...serviceEnv(), OUTBOUND_ALLOW_HTTP: 'true', OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: 'true' },
      engine: bytesFaceEngine(),
      outbound: { resolve },
      webhooks: { perOrganization: 2 },
    });
    await svc.startEngine();
    bank = (await svc.key(['searcher'], 'bank-a')).auth;
    for (const org of ['fiu', 'police']) {
      admins[org] = (await svc.key(['admin'], org)).auth;
      await svc.watchlist(org, 'wl', [{ organization: 'bank-a', access: 'screen' }]);
      const enroller = (await svc.key(['enroller'], org)).auth;
      const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'X', category: 'fraud', watchlist: 'wl', legalBasis: 'x' }).expect(201);
      await request(svc.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', await photo, 'f.png').expect(201);
    }
  });
  afterAll(() => t.drop());

  /** One screening search by the bank: one notice for each of fiu and police. */
  const screen = async () =>
    request(svc.app).post('/v1/searches').set('Authorization', bank).attach('image', await photo, 'p.png').field('purpose', 'p').field('caseRef', 'c').field('mode', 'screening').expect(200);
  const setHook = (org: string, url: string) => request(svc.app).put('/v1/webhooks').set('Authorization', admins[org]!).send({ url });
  const outcomes = async (org: string) =>
    (await request(svc.app).get('/v1/webhooks').set('Authorization', admins[org]!).expect(200)).body.deliveries.map((d: { attempts: Array<{ outcome: string }> }) => d.attempts.map((a) => a.outcome));

  it('refuses internal destinations at registration with DESTINATION_REFUSED, whatever their spelling, and stores nothing', async () => {
    const noOverride = await startService(t.db, { env: { ...serviceEnv(), OUTBOUND_ALLOW_HTTP: 'true' }, engine: bytesFaceEngine(), outbound: { resolve }, migrateFirst: false });
    const admin = (await svc.key(['admin'], 'bank-b')).auth;
    dns.set('metadata.example.test', '169.254.169.254');
    dns.set('db.example.test', '10.0.0.5');
    const urls = [
      'http://127.0.0.1:5432/', 'http://0x7f000001/', 'http://2130706433/', 'http://017700000001/', 'http://127.1/', 'http://[::1]/',
      'http://[::ffff:127.0.0.1]/', 'http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/', 'http://[fd00::1]/', 'http://0/',
      'http://localhost:8080/', 'http://metadata.example.test/', 'http://db.example.test/', 'http://nowhere.example.test/',
    ];
    for (const url of urls) {
      const r = await request(noOverride.app).put('/v1/webhooks').set('Authorization', admin).send({ url });
      expect({ url, status: r.status, code: r.body.error?.code }).toEqual({ url, status: 400, code: 'DESTINATION_REFUSED' });
    }
    const https = await startService(t.db, { env: serviceEnv(), engine: bytesFaceEngine(), outbound: { resolve }, migrateFirst: false });
    dns.set('hooks.example.test', '127.0.0.1');
    const plain = await request(https.app).put('/v1/webhooks').set('Authorization', admin).send({ url: 'http://hooks.example.test/' });
    expect(plain.body.error).toMatchObject({ code: 'DESTINATION_REFUSED', details: { reason: 'scheme' } });
    const creds = await request(noOverride.app).put('/v1/webhooks').set('Authorization', admin).send({ url: 'https://u:p@hooks.example.test/' });
    expect(creds.body.error.details).toEqual({ reason: 'credentials' });
    expect((await t.db.query("SELECT 1 FROM webhook WHERE organization = 'bank-b'")).rowCount).toBe(0);
  });

  it('refuses at delivery when the name resolves elsewhere since registration, without connecting', async () => {
    const rx = await receiver((res) => res.writeHead(204).end());
    try {
      dns.set('fiu-hooks.example.test', '127.0.0.1');
      await setHook('fiu', `http://fiu-hooks.example.test:${rx.port}/n`).expect(200);
      dns.set('fiu-hooks.example.test', '10.0.0.9'); // the DNS answer changed after registration
      await screen();
      await svc.webhookWorker.tick();
      expect(rx.got).toEqual([]);
      expect((await outcomes('fiu'))[0]).toEqual(['destination_refused']);
    } finally {
      await request(svc.app).delete('/v1/webhooks').set('Authorization', admins.fiu!).expect(204);
      await rx.close();
    }
  });

  it('does not follow a redirect and drops a receiver that answers without end, recording classes only', async () => {
    const target = await receiver((res) => res.writeHead(204).end());
    const redirect = await receiver((res) => res.writeHead(302, { Location: `http://127.0.0.1:${target.port}/` }).end());
    let streaming = 0;
    let closed = false;
    const endless = await receiver((res) => {
      res.writeHead(200);
      res.on('close', () => (closed = true));
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (!res.destroyed) {
          streaming++;
          if (!res.write(chunk)) break;
        }
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    try {
      await setHook('fiu', `http://127.0.0.1:${redirect.port}/n`).expect(200);
      await setHook('police', `http://127.0.0.1:${endless.port}/n`).expect(200);
      await screen();
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 2, delivered: 1 });
      expect(target.got).toEqual([]);
      expect((await outcomes('fiu'))[0]).toEqual(['redirect_refused']);
      // The endless answer was cut after the first few KiB: a 200 was seen before that, so it counts as delivered.
      expect((await outcomes('police'))[0]).toEqual(['delivered']);
      await until('the endless receiver sees its connection closed', () => closed);
      const log = JSON.stringify((await request(svc.app).get('/v1/webhooks').set('Authorization', admins.fiu!).expect(200)).body.deliveries);
      expect(log).not.toMatch(/302|Location|httpStatus|"error"/);
      expect(streaming).toBeGreaterThan(0);
    } finally {
      for (const o of ['fiu', 'police']) await request(svc.app).delete('/v1/webhooks').set('Authorization', admins[o]!).expect(204);
      await Promise.all([target.close(), redirect.close(), endless.close()]);
    }
  });

  it("holds an organization to its cap of deliveries in flight while another organization's notices go through", async () => {
    const slow = await receiver((res) => res.writeHead(204).end(), true);
    const fast = await receiver((res) => res.writeHead(204).end());
    try {
      await setHook('fiu', `http://127.0.0.1:${slow.port}/n`).expect(200);
      for (let i = 0; i < 3; i++) await screen(); // three notices for fiu, none for police yet (no webhook)
      const first = svc.webhookWorker.tick();
      await until('two fiu deliveries in flight', () => slow.open() === 2);
      // A second pass finds no room for fiu (cap 2, across instances: counted from the leases in the database).
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 0, delivered: 0 });
      await setHook('police', `http://127.0.0.1:${fast.port}/n`).expect(200);
      await screen(); // one more notice each
      const second = await svc.webhookWorker.tick();
      expect(second).toEqual({ attempted: 1, delivered: 1 }); // police's, while fiu's receiver still holds two
      expect(fast.got).toHaveLength(1);
      expect(slow.open()).toBe(2);
      slow.release();
      expect(await first).toEqual({ attempted: 2, delivered: 2 });
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 2, delivered: 2 });
      expect(new Set(slow.got).size).toBe(4);
      expect(slow.got).toHaveLength(4);
    } finally {
      for (const o of ['fiu', 'police']) await request(svc.app).delete('/v1/webhooks').set('Authorization', admins[o]!).expect(204);
      await Promise.all([slow.close(), fast.close()]);
    }
  });

  it("writes only the webhook URL's origin and hash into the audit chain, never its path or query", async () => {
    const rx = await receiver((res) => res.writeHead(204).end());
    try {
      await setHook('fiu', `http://127.0.0.1:${rx.port}/hook?token=s3cr3t-query-token`).expect(200);
      const ev = (await svc.audit.list(t.db, { type: 'webhook.set', limit: 100 })).at(-1)!;
      expect(ev.payload).toEqual({ origin: `http://127.0.0.1:${rx.port}`, urlSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      const all = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_event WHERE payload::text LIKE '%s3cr3t-query-token%'");
      expect(all.rows[0]!.n).toBe(0);
    } finally {
      await request(svc.app).delete('/v1/webhooks').set('Authorization', admins.fiu!).expect(204);
      await rx.close();
    }
  });
});
