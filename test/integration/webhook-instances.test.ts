import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * At most one POST per notice across instances: two delivery processes (test/helpers/webhook-worker.process.ts, the real
 * worker) tick every 20 ms on one PostgreSQL database against a receiver that takes a while to answer, so their passes
 * overlap all the time. Every notice must arrive exactly once, every attempt be recorded once, and an organization never
 * have more deliveries open at the receiver than its cap. Bounded polls only, no timed assertions.
 */
const ROOT = path.resolve(__dirname, '../..');
const pg = backends().find((b) => b.name === 'postgres');
if (!pg) process.stderr.write('note: webhook-instances.test.ts needs PostgreSQL (TEST_DATABASE_URL): two processes cannot share PGlite; skipped.\n');

const PER_ORG = 3;

(pg ? describe : describe.skip)('webhook delivery from two processes', () => {
  let t: TestDb;
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await t?.drop();
  });

  it('POSTs each notice once, records each attempt once, and keeps each organization within its cap', async () => {
    t = await pg!.open();
    const key = randomBytes(32).toString('base64');
    const svc = await startService(t.db, { env: { ...serviceEnv(), FACEMATCH_ENCRYPTION_KEY: key, OUTBOUND_ALLOW_HTTP: 'true', OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: 'true' }, engine: bytesFaceEngine() });
    await svc.startEngine();
    const got = new Map<string, number>();
    const open = new Map<string, number>();
    let maxOpen = 0;
    const receiver = http.createServer((req, res) => {
      const org = req.url!.slice(1);
      open.set(org, (open.get(org) ?? 0) + 1);
      maxOpen = Math.max(maxOpen, open.get(org)!);
      req.resume();
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        got.set(id, (got.get(id) ?? 0) + 1);
        setTimeout(() => {
          open.set(org, open.get(org)! - 1);
          res.writeHead(204).end();
        }, 50 + Math.floor(Math.random() * 100));
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    try {
      const bank = (await svc.key(['searcher'], 'bank-a')).auth;
      const photo = await seededPng(5);
      for (const org of ['fiu', 'police']) {
        await svc.watchlist(org, 'wl', [{ organization: 'bank-a', access: 'screen' }]);
        const enroller = (await svc.key(['enroller'], org)).auth;
        const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'X', category: 'fraud', watchlist: 'wl', legalBasis: 'x' }).expect(201);
        await request(svc.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', photo, 'f.png').expect(201);
        await request(svc.app).put('/v1/webhooks').set('Authorization', (await svc.key(['admin'], org)).auth).send({ url: `http://127.0.0.1:${port}/${org}` }).expect(200);
      }
      for (let i = 0; i < 12; i++) {
        await request(svc.app).post('/v1/searches').set('Authorization', bank).attach('image', photo, 'p.png').field('purpose', 'p').field('caseRef', `c${i}`).field('mode', 'screening').expect(200);
      }
      const notices = (await t.db.query<{ id: string }>('SELECT id FROM hit_notice ORDER BY id')).rows.map((r) => r.id);
      expect(notices).toHaveLength(24);

      for (let i = 0; i < 2; i++) {
        const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/webhook-worker.process.ts'], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: t.url!, FACEMATCH_ENCRYPTION_KEY: key, PER_ORGANIZATION: String(PER_ORG), TICK_MS: '20' },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        children.push(c);
      }
      for (let i = 0; i < 2400; i++) {
        const r = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_delivery WHERE status <> 'delivered'");
        if (r.rows[0]!.n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await Promise.all(children.map((c) => new Promise((resolve) => { c.once('exit', resolve); c.kill('SIGTERM'); })));

      expect([...got.keys()].sort()).toEqual(notices);
      expect([...got.values()].every((n) => n === 1)).toBe(true);
      const attempts = await t.db.query<{ n: number; distinct: number }>('SELECT count(*)::int AS n, count(DISTINCT delivery_id)::int AS distinct FROM webhook_attempt');
      expect(attempts.rows[0]).toEqual({ n: 24, distinct: 24 });
      expect(maxOpen).toBeLessThanOrEqual(PER_ORG);
      expect((await t.db.query('SELECT 1 FROM webhook_delivery WHERE lease_id IS NOT NULL')).rowCount).toBe(0);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
      await svc.close();
    }
  });
});
