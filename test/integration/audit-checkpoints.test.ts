import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { hashEvent, type AuditEvent } from '../../src/modules/audit/audit.model';
import { createAuditService } from '../../src/modules/audit/audit.service';
import { createAnchorRepo } from '../../src/modules/audit/anchor.repo';
import { createAuditRepo } from '../../src/modules/audit/audit.repo';
import { verifyCheckpoint, type StoredCheckpoint } from '../../src/modules/audit/checkpoint.model';
import { parseEd25519PublicKey } from '../../src/platform/crypto/deployment-key';
import type { Db } from '../../src/shared/db';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { bytesFaceEngine, seededPng } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

const run = promisify(execFile);
const TSX = path.resolve(__dirname, '../../node_modules/.bin/tsx');
const ROOT = path.resolve(__dirname, '../..');

/**
 * The rewrite a database owner can do (reproduced here with the table owner's rights: triggers disabled, every hash from
 * some seq onward recomputed after changing a search's purpose, audit_anchor emptied) and what catches it: the chain's own
 * audit.anchored events catch a careless rewrite; only a signed checkpoint kept outside the database (AUDIT_CHECKPOINT_DIR,
 * or a head the auditor kept: expect=seq:hash) catches a careful one, online and offline. Also: a truncated tail, and
 * audit_anchor's append-only trigger.
 */
interface Row {
  seq: number;
  at: Date;
  actor: AuditEvent['actor'];
  type: AuditEvent['type'];
  subject_ids: string[];
  search_id: string | null;
  payload: Record<string, unknown>;
}

/**
 * As the owner: edit the purpose in the search.run event at `seq`, recompute every hash from there to the head, and delete
 * every audit_anchor row (the rewrite as it was reported). `careful`: instead of deleting the anchor rows, set them to the new
 * hashes, and rewrite each later audit.anchored event's verified head so it names the new hashes too.
 */
async function rewrite(db: Db, seq: number, careful: boolean): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete');
    await tx.query('ALTER TABLE audit_anchor DISABLE TRIGGER audit_anchor_no_update_delete');
    await tx.query(`UPDATE audit_event SET payload = jsonb_set(payload, '{purpose}', '"routine check"') WHERE seq = $1`, [seq]);
    await tx.query(`UPDATE search SET purpose = 'routine check' WHERE id = (SELECT search_id FROM audit_event WHERE seq = $1)`, [seq]);
    const prev = (await tx.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = $1', [seq - 1])).rows[0]!;
    let prevHash = prev.hash;
    const old = new Map<string, string>();
    const rows = (await tx.query<Row & { hash: string }>('SELECT seq, at, actor, type, subject_ids, search_id, payload, hash FROM audit_event WHERE seq >= $1 ORDER BY seq', [seq])).rows;
    for (const r of rows) {
      let payload = r.payload;
      if (careful && r.type === 'audit.anchored' && old.has(String(payload.verifiedHash))) payload = { ...payload, verifiedHash: old.get(String(payload.verifiedHash)) };
      const e = { seq: Number(r.seq), at: new Date(r.at).toISOString(), actor: r.actor, type: r.type, subjectIds: r.subject_ids ?? [], searchId: r.search_id, payload, prevHash };
      const hash = hashEvent(e);
      old.set(r.hash, hash);
      await tx.query('UPDATE audit_event SET payload = $2::jsonb, prev_hash = $3, hash = $4 WHERE seq = $1', [e.seq, JSON.stringify(payload), prevHash, hash]);
      prevHash = hash;
    }
    if (careful) for (const [from, to] of old) await tx.query('UPDATE audit_anchor SET hash = $2 WHERE hash = $1', [from, to]);
    else await tx.query('DELETE FROM audit_anchor');
    await tx.query('ALTER TABLE audit_anchor ENABLE TRIGGER audit_anchor_no_update_delete');
    await tx.query('ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete');
  });
}

describe.each(backends())('external audit checkpoints on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let auditor: string;
  let dir: string;
  let keyFile: string;
  let searchSeq: number;

  // Every test gets its own database and directory: a chain with a search, an anchor and one signed checkpoint, then one
  // more event (so the checkpoint lies inside the chain, not at its head).
  beforeEach(async () => {
    t = await backend.open();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-checkpoints-'));
    svc = await startService(t.db, { env: { ...serviceEnv(), AUDIT_CHECKPOINT_DIR: path.join(dir, 'checkpoints') }, engine: bytesFaceEngine() });
    await svc.startEngine();
    auditor = (await svc.key(['auditor'], '*')).auth;
    const searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    const enroller = (await svc.key(['enroller'], 'bank-a')).auth;
    await svc.watchlist('bank-a', 'wl');
    await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'P', category: 'fraud', watchlist: 'wl', legalBasis: 't' }).expect(201);
    const s = await request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', await seededPng(3), 'p.png')
      .field('purpose', 'suspected mule account').field('caseRef', 'CASE-7').expect(200);
    searchSeq = s.body.audit.seq;
    for (let i = 0; i < 3; i++) {
      await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: `Q${i}`, category: 'fraud', watchlist: 'wl', legalBasis: 't' }).expect(201);
    }
    await svc.auditService.anchor({ keyId: null, organization: '*', roles: ['auditor'] });
    await request(svc.app).post('/v1/audit/checkpoints').set('Authorization', auditor).expect(201);
    await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'R', category: 'fraud', watchlist: 'wl', legalBasis: 't' }).expect(201);
    keyFile = path.join(dir, 'facematch-keys.json');
    fs.writeFileSync(keyFile, JSON.stringify((await request(svc.app).get('/.well-known/facematch/keys').expect(200)).body));
  });
  afterEach(async () => {
    await svc.close();
    await t.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const files = () => fs.readdirSync(path.join(dir, 'checkpoints'));

  const verify = async (query = '') => (await request(svc.app).get(`/v1/audit/verify${query}`).set('Authorization', auditor).expect(200)).body;
  const exportTo = async (file: string) => {
    const res = await request(svc.app).get('/v1/audit/export').set('Authorization', auditor).buffer(true)
      .parse((r, cb) => {
        let data = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (data += c));
        r.on('end', () => cb(null, data));
      }).expect(200);
    fs.writeFileSync(file, res.body as string);
  };
  const verifyOffline = async (args: string[]) => {
    const out = await run(TSX, ['scripts/verify-audit.ts', ...args], { cwd: ROOT }).catch((e: { code: number; stdout: string }) => e);
    const stdout = (out as { stdout: string }).stdout;
    return { code: (out as { code?: number }).code ?? 0, result: stdout ? JSON.parse(stdout) : null };
  };

  it('publishes the deployment key and signs checkpoints of the head into the directory, on demand and when the head moved', async () => {
    const jwks = (await request(svc.app).get('/.well-known/facematch/keys').expect(200)).body;
    expect(jwks.keys).toEqual([{ ...svc.deploymentKey.publicJwk, use: 'sig', alg: 'EdDSA' }]);
    const head = (await svc.audit.head(t.db))!;
    const res = await request(svc.app).post('/v1/audit/checkpoints').set('Authorization', auditor).expect(201);
    expect(res.body.checkpoint).toMatchObject({ type: 'facematch.audit.checkpoint', v: 1, seq: head.seq, hash: head.hash, keyId: jwks.keys[0].kid });
    expect(res.body.sinks).toEqual([{ sink: 'directory', ok: true }]);
    expect(files()).toHaveLength(2);
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', files().sort()[1]!), 'utf8')) as StoredCheckpoint;
    expect(stored.checkpoint).toEqual(res.body.checkpoint);
    const key = parseEd25519PublicKey(jwks.keys[0]);
    expect(verifyCheckpoint(stored.checkpoint, key)).toBe(true);
    expect(verifyCheckpoint({ ...stored.checkpoint, seq: stored.checkpoint.seq + 1 }, key)).toBe(false);

    expect(await verify()).toMatchObject({ ok: true, expected: { checked: 2, failed: [] }, checkpoints: { read: 2, invalid: [] }, anchoredEvents: { checked: 1, mismatched: [] } });
    // The interval job writes one only when the head moved.
    expect(await svc.checkpoints.checkpoint({ onlyIfNew: true })).toBeNull();
    const enroller = (await svc.key(['enroller'], 'bank-a')).auth;
    await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'S', category: 'fraud', watchlist: 'wl', legalBasis: 't' }).expect(201);
    expect(await svc.checkpoints.checkpoint({ onlyIfNew: true })).not.toBeNull();
    expect(files()).toHaveLength(3);
    expect((await verify()).ok).toBe(true);
  });

  it('refuses operations on audit_anchor other than INSERT while its trigger is on', async () => {
    await expect(t.db.query('UPDATE audit_anchor SET hash = hash')).rejects.toThrow(/append-only/);
    await expect(t.db.query('DELETE FROM audit_anchor')).rejects.toThrow(/append-only/);
    await expect(t.db.query('TRUNCATE audit_anchor')).rejects.toThrow(/append-only/);
  });

  it("detects a careless rewrite by the owner from the chain's own audit.anchored event, even with every anchor row deleted", async () => {
    const before = (await svc.audit.head(t.db))!;
    const expectHead = `?expect=${before.seq}:${before.hash}`;
    const plain = createAuditService({ db: t.db, audit: createAuditRepo(), anchors: createAnchorRepo() }); // no checkpoint directory
    const star = { keyId: 'x', roles: ['auditor' as const], organization: '*' };
    await rewrite(t.db, searchSeq, false);
    const v = await plain.verify(star);
    expect(v).toMatchObject({ ok: false, anchors: { checked: 0, mismatched: [{ anchoredHash: null }] } });
    expect(v.anchoredEvents.mismatched).toEqual([expect.objectContaining({ verifiedHash: expect.any(String), chainHash: expect.any(String) })]);
    expect(v.reason).toMatch(/anchor row of the audit\.anchored event at seq \d+ is missing/);
    // And through the API, with the directory's checkpoints and the auditor's kept head as well.
    const api = await verify(expectHead);
    expect(api.ok).toBe(false);
    expect(api.expected.failed.map((f: { source: string }) => f.source)).toEqual(expect.arrayContaining(['expect', expect.stringMatching(/^checkpoint /)]));
  });

  it('detects a careful rewrite (anchored events rewritten too) only from external checkpoints, online and offline, and refuses to sign over it', async () => {
    const seqBefore = (await svc.audit.head(t.db))!.seq;
    await rewrite(t.db, searchSeq, true);
    expect(files()).toHaveLength(1);
    const plain = createAuditService({ db: t.db, audit: createAuditRepo(), anchors: createAnchorRepo() });
    // Without anything kept outside the database, the rewritten chain verifies: this is what the database owner can do.
    expect(await plain.verify({ keyId: 'x', roles: ['auditor'], organization: '*' })).toMatchObject({ ok: true, anchors: { mismatched: [] }, anchoredEvents: { checked: 1, mismatched: [] } });
    const searchRun = (await request(svc.app).get(`/v1/audit/events?type=search.run`).set('Authorization', auditor).expect(200)).body.items[0];
    expect(searchRun.payload.purpose).toBe('routine check');

    const v = await verify();
    expect(v.ok).toBe(false);
    expect(v.firstBadSeq).toBeLessThanOrEqual(seqBefore);
    expect(v.reason).toMatch(/does not extend the expected head at seq \d+ \(checkpoint /);
    expect(v.expected.failed).toHaveLength(1);

    const signed = await request(svc.app).post('/v1/audit/checkpoints').set('Authorization', auditor);
    expect(signed.status).toBe(409);
    expect(signed.body.error.code).toBe('AUDIT_CHAIN_BROKEN');
    expect(files()).toHaveLength(1);

    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-offline-'));
    try {
      const file = path.join(work, 'audit.ndjson');
      await exportTo(file);
      expect(await verifyOffline([file])).toMatchObject({ code: 0, result: { ok: true } });
      const offline = await verifyOffline([file, '--checkpoints', path.join(dir, 'checkpoints'), '--public-key', keyFile]);
      expect(offline).toMatchObject({ code: 1, result: { ok: false, checkpoints: { read: 1, invalid: [] } } });
      expect(offline.result.reason).toMatch(/does not extend the expected head/);
      // A checkpoint file nobody with the key signed is itself a failure.
      const forged = path.join(work, 'checkpoint-000000000000001-20260101T000000000Z.json');
      const one = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', files()[0]!), 'utf8')) as StoredCheckpoint;
      fs.writeFileSync(forged, JSON.stringify({ ...one, checkpoint: { ...one.checkpoint, hash: 'a'.repeat(64) } }));
      expect((await verifyOffline([file, '--checkpoints', forged, '--public-key', keyFile])).result.checkpoints.invalid).toHaveLength(1);
      const noKey = await verifyOffline([file, '--checkpoints', path.join(dir, 'checkpoints')]);
      expect(noKey.code).toBe(2);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('detects a truncated tail from an expected head beyond the chain', async () => {
    const head = (await svc.audit.head(t.db))!;
    await t.db.transaction(async (tx) => {
      await tx.query('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete');
      await tx.query('DELETE FROM audit_event WHERE seq > $1', [head.seq - 2]);
      await tx.query('ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete');
    });
    const v = await verify(`?expect=${head.seq}:${head.hash}`);
    expect(v).toMatchObject({ ok: false, headSeq: head.seq - 2 });
    expect(v.expected.failed).toContainEqual({ seq: head.seq, hash: head.hash, chainHash: null, source: 'expect' });
    const bad = await request(svc.app).get('/v1/audit/verify?expect=12:nothex').set('Authorization', auditor);
    expect(bad.status).toBe(400);
  });
});
