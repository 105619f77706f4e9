import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * The receiver example of docs/webhooks.md, extracted from the document and run as written (plain node, a child process on
 * 127.0.0.1), against real deliveries from the service: it accepts a signed notice, acknowledges a byte-identical replay
 * without processing it again, refuses a stale timestamp and a tampered body, and during a secret rotation accepts a delivery
 * that only the new secret (or only the old one) can verify.
 */
const DOC = path.resolve(__dirname, '../../docs/webhooks.md');

function receiverSource(): string {
  const text = fs.readFileSync(DOC, 'utf8');
  const m = /<!-- receiver\.js:[^\n]*-->\n```js\n([\s\S]*?)\n```/.exec(text);
  if (!m) throw new Error('docs/webhooks.md has no receiver.js block');
  return m[1]!;
}

interface Receiver {
  port: number;
  processed: () => Array<{ received: string; searchId: string; purpose: string }>;
  child: ChildProcess;
}

async function startReceiver(file: string, secrets: string[]): Promise<Receiver> {
  const child = spawn(process.execPath, [file], { env: { PATH: process.env.PATH, WEBHOOK_SECRETS: secrets.join(','), PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /listening on (\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`receiver exited ${code}: ${err}`)));
  });
  return { port, child, processed: () => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

/** Sends exactly these headers and body to the receiver; answers status and text. */
function replay(port: number, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A loopback relay in front of the receiver that records what the service sent, so the test can replay it byte for byte. */
async function recordingRelay(targetPort: number) {
  const seen: Array<{ headers: Record<string, string>; body: string; status: number }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const headers = Object.fromEntries(['content-type', 'webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req.headers[h])]));
      const r = await replay(targetPort, headers, body);
      seen.push({ headers, body, status: r.status });
      res.writeHead(r.status).end(r.text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { seen, port: (server.address() as import('node:net').AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const [backend] = backends();

describe('the receiver example in docs/webhooks.md', () => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let admin: string;
  let bank: string;
  let dir: string;
  let file: string;
  const photo = seededPng(11);
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-receiver-'));
    file = path.join(dir, 'receiver.js');
    fs.writeFileSync(file, receiverSource());
    t = await backend!.open();
    svc = await startService(t.db, { env: { ...serviceEnv(), OUTBOUND_ALLOW_HTTP: 'true', OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: 'true' }, engine: bytesFaceEngine() });
    await svc.startEngine();
    admin = (await svc.key(['admin'], 'fiu')).auth;
    bank = (await svc.key(['searcher'], 'bank-a')).auth;
    await svc.watchlist('fiu', 'ml', [{ organization: 'bank-a', access: 'screen' }]);
    const enroller = (await svc.key(['enroller'], 'fiu')).auth;
    const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'X', category: 'fraud', watchlist: 'ml', legalBasis: 'x' }).expect(201);
    await request(svc.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', await photo, 'f.png').expect(201);
  });
  afterAll(async () => {
    for (const c of children) c.kill();
    await t.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const screen = async () =>
    request(svc.app).post('/v1/searches').set('Authorization', bank).attach('image', await photo, 'p.png').field('purpose', 'KYC onboarding').field('caseRef', 'APP-9').field('mode', 'screening').expect(200);

  it('accepts a real delivery, refuses its replay, a stale timestamp and a tampered body', async () => {
    const put = await request(svc.app).put('/v1/webhooks').set('Authorization', admin).send({ url: 'http://127.0.0.1:1/placeholder' }).expect(200);
    const secret = put.body.secret as string;
    expect(secret).toMatch(/^whsec_/);
    const rx = await startReceiver(file, [secret]);
    children.push(rx.child);
    const relay = await recordingRelay(rx.port);
    try {
      await request(svc.app).put('/v1/webhooks').set('Authorization', admin).send({ url: `http://127.0.0.1:${relay.port}/notices`, secret }).expect(200);
      const hit = await screen();
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 1, delivered: 1 });
      expect(rx.processed()).toEqual([{ received: expect.any(String), searchId: hit.body.searchId, purpose: 'KYC onboarding' }]);

      const sent = relay.seen[0]!;
      const again = await replay(rx.port, sent.headers, sent.body);
      expect(again).toEqual({ status: 200, text: 'already received' });
      expect(rx.processed()).toHaveLength(1);

      const tampered = await replay(rx.port, sent.headers, sent.body.replace('KYC onboarding', 'routine check'));
      expect(tampered).toEqual({ status: 400, text: 'no valid signature' });
      const stale = await replay(rx.port, { ...sent.headers, 'webhook-timestamp': String(Number(sent.headers['webhook-timestamp']) - 3600) }, sent.body);
      expect(stale).toEqual({ status: 400, text: 'timestamp outside the tolerance' });
      const unsigned = await replay(rx.port, { 'content-type': 'application/json' }, sent.body);
      expect(unsigned.status).toBe(400);
      expect(rx.processed()).toHaveLength(1);
    } finally {
      await relay.close();
    }
  });

  it('keeps delivering through a secret rotation: two signatures during the overlap, one after', async () => {
    const old = (await request(svc.app).put('/v1/webhooks').set('Authorization', admin).send({ url: 'http://127.0.0.1:1/placeholder' }).expect(200)).body.secret as string;
    const oldOnly = await startReceiver(file, [old]);
    children.push(oldOnly.child);
    const relay = await recordingRelay(oldOnly.port);
    try {
      await request(svc.app).put('/v1/webhooks').set('Authorization', admin).send({ url: `http://127.0.0.1:${relay.port}/n`, secret: old }).expect(200);
      const rot = await request(svc.app).post('/v1/webhooks/secret').set('Authorization', admin).send({ overlapSeconds: 3600 }).expect(200);
      expect(rot.body).toMatchObject({ secret: expect.stringMatching(/^whsec_/), previousValidUntil: expect.any(String) });
      expect(rot.body.secret).not.toBe(old);
      await screen();
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 1, delivered: 1 });
      expect(relay.seen[0]!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
      // A receiver that knows only the new secret accepts the same delivery too.
      const newOnly = await startReceiver(file, [rot.body.secret]);
      children.push(newOnly.child);
      expect((await replay(newOnly.port, relay.seen[0]!.headers, relay.seen[0]!.body)).status).toBe(204);

      // No overlap: the old secret stops signing at once, and a receiver that knows only it refuses.
      await request(svc.app).post('/v1/webhooks/secret').set('Authorization', admin).send({ overlapSeconds: 0 }).expect(200);
      await screen();
      expect(await svc.webhookWorker.tick()).toEqual({ attempted: 1, delivered: 0 });
      expect(relay.seen[1]!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
      expect(relay.seen[1]!.status).toBe(400);
      const events = (await svc.audit.list(t.db, { type: 'webhook.secret_rotated', limit: 10 })).map((e) => Object.keys(e.payload));
      expect(events).toEqual([['previousValidUntil'], ['previousValidUntil']]);
    } finally {
      await relay.close();
    }
  });
});
