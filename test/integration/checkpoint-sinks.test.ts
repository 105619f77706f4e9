import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { countersign, extendsCheckpoint, parseCheckpoint, verifyCheckpoint, verifyCountersignature, type StoredCheckpoint } from '../../src/modules/audit/checkpoint.model';
import { deploymentKeyFrom, parseEd25519PublicKey } from '../../src/platform/crypto/deployment-key';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { serviceEnv } from './oversight.fixtures';

/**
 * Checkpoints sent to a receiver URL and to partner deployments that countersign, on loopback. The partner here is a
 * reference of the countersign exchange documented in docs/OVERSIGHT.md (request: the signed checkpoint as JSON; answer:
 * `{countersignature}`; a checkpoint behind the last one seen is refused with 409), built from the same model functions
 * the federation module will use.
 */
async function listen(handler: (body: string, res: http.ServerResponse) => void) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const [backend] = backends();

describe('checkpoint places: receiver URL and countersigning partners', () => {
  let t: TestDb;
  const dirs: string[] = [];
  afterAll(async () => {
    await t?.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('posts each checkpoint to the receiver and stores the countersignatures of the partners that gave valid ones', async () => {
    const partnerKey = deploymentKeyFrom(generateKeyPairSync('ed25519').privateKey);
    const partnerSeen: Array<{ seq: number; hash: string }> = [];
    const partner = await listen((body, res) => {
      const c = parseCheckpoint(JSON.parse(body));
      const last = partnerSeen[partnerSeen.length - 1] ?? null;
      if (!c || !extendsCheckpoint(last, c)) {
        res.writeHead(409, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'CHECKPOINT_REGRESSED', message: 'behind the last checkpoint seen' } }));
        return;
      }
      partnerSeen.push({ seq: c.seq, hash: c.hash });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ countersignature: countersign(partnerKey, c, new Date()) }));
    });
    const liar = await listen((_body, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"countersignature":{"type":"facematch.audit.countersignature"}}'));
    const received: StoredCheckpoint[] = [];
    const receiver = await listen((body, res) => {
      received.push(JSON.parse(body));
      res.writeHead(204).end();
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-sinks-'));
    dirs.push(dir);
    try {
      t = await backend!.open();
      const countersigners = [
        { url: `${partner.url}/v1/federation/checkpoints/countersign?x=secret-token`, publicKey: partnerKey.publicJwk.x },
        { url: `${liar.url}/countersign`, publicKey: partnerKey.publicJwk.x },
        { url: 'http://10.0.0.1/countersign', publicKey: partnerKey.publicJwk.x },
      ];
      const svc = await startService(t.db, {
        env: {
          ...serviceEnv(),
          OUTBOUND_ALLOW_HTTP: 'true',
          OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: 'true',
          AUDIT_CHECKPOINT_DIR: dir,
          AUDIT_CHECKPOINT_URL: `${receiver.url}/checkpoints`,
          AUDIT_CHECKPOINT_COUNTERSIGNERS: JSON.stringify(countersigners),
        },
      });
      const auditor = (await svc.key(['auditor'], '*')).auth;
      const out = (await request(svc.app).post('/v1/audit/checkpoints').set('Authorization', auditor).expect(201)).body;
      expect(out.sinks).toEqual([
        { sink: 'directory', ok: true },
        { sink: `countersigner ${partner.url}`, ok: true },
        { sink: `countersigner ${liar.url}`, ok: false, failure: 'bad_answer' },
        { sink: 'countersigner http://10.0.0.1', ok: false, failure: 'refused' },
        { sink: `webhook ${receiver.url}`, ok: true },
      ]);
      expect(JSON.stringify(out)).not.toContain('secret-token');
      expect(out.countersignatures).toHaveLength(1);
      const partnerPublic = parseEd25519PublicKey(partnerKey.publicJwk);
      expect(verifyCountersignature(out.countersignatures[0], out.checkpoint, partnerPublic)).toBe(true);
      expect(verifyCountersignature(out.countersignatures[0], { ...out.checkpoint, seq: out.checkpoint.seq + 1 }, partnerPublic)).toBe(false);

      const file = JSON.parse(fs.readFileSync(path.join(dir, fs.readdirSync(dir)[0]!), 'utf8')) as StoredCheckpoint;
      expect(file).toEqual({ checkpoint: out.checkpoint, countersignatures: out.countersignatures });
      expect(received).toEqual([file]);
      expect(verifyCheckpoint(received[0]!.checkpoint, parseEd25519PublicKey(svc.deploymentKey.publicJwk))).toBe(true);

      // The partner refuses a checkpoint behind the last one it countersigned.
      partnerSeen.push({ seq: out.checkpoint.seq + 100, hash: 'f'.repeat(64) });
      const again = (await request(svc.app).post('/v1/audit/checkpoints').set('Authorization', auditor).expect(201)).body;
      expect(again.sinks[1]).toEqual({ sink: `countersigner ${partner.url}`, ok: false, failure: 'http_4xx' });
      await svc.close();
    } finally {
      await Promise.all([partner.close(), liar.close(), receiver.close()]);
    }
  });

  it('answers 409 CHECKPOINTS_NOT_CONFIGURED when no place is configured', async () => {
    const db = await backend!.open();
    try {
      const svc = await startService(db.db, { env: serviceEnv() });
      const auditor = (await svc.key(['auditor'], '*')).auth;
      const r = await request(svc.app).post('/v1/audit/checkpoints').set('Authorization', auditor);
      expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 409, code: 'CHECKPOINTS_NOT_CONFIGURED' });
      const org = (await svc.key(['auditor'], 'bank-a')).auth;
      expect((await request(svc.app).post('/v1/audit/checkpoints').set('Authorization', org)).status).toBe(403);
    } finally {
      await db.drop();
    }
  });
});
