import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { verifyAuditLines } from '../../scripts/lib/audit-export';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { bypassingTrigger, serviceEnv } from './oversight.fixtures';

const run = promisify(execFile);
const TSX = path.resolve(__dirname, '../../node_modules/.bin/tsx');
const ROOT = path.resolve(__dirname, '../..');

/** supertest buffers NDJSON as text with this parser (superagent does not know the type; it passes the raw node stream). */
type Parser = (res: request.Response, cb: (err: Error | null, body: unknown) => void) => void;
const text = ((res: NodeJS.ReadableStream, cb: (err: Error | null, body: string) => void) => {
  let data = '';
  res.setEncoding('utf8');
  res.on('data', (c: string) => (data += c));
  res.on('end', () => cb(null, data));
}) as unknown as Parser;

const subjectBody = (i: number) => ({ displayName: `Person ${i}`, category: 'fraud', watchlist: 'wl', legalBasis: 'test' });

describe.each(backends())('audit chain on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let auditor: string;
  let enrollerA: string;
  let enrollerB: string;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv() });
    auditor = (await svc.key(['auditor'], '*')).auth;
    enrollerA = (await svc.key(['enroller'], 'bank-a')).auth;
    enrollerB = (await svc.key(['enroller'], 'bank-b')).auth;
    await svc.watchlist('bank-a', 'wl');
    await svc.watchlist('bank-b', 'wl');
    for (let i = 0; i < 4; i++) {
      await request(svc.app).post('/v1/subjects').set('Authorization', i % 2 ? enrollerB : enrollerA).send(subjectBody(i)).expect(201);
    }
  });
  afterAll(() => t.drop());

  const verify = async () => (await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor).expect(200)).body;
  const exportText = async (query = '') =>
    (await request(svc.app).get(`/v1/audit/export${query}`).set('Authorization', auditor).buffer(true).parse(text).expect(200)).body as string;

  it('verifies an untouched chain from genesis and reports its head', async () => {
    const head = await svc.audit.head(t.db);
    const v = await verify();
    expect(v).toMatchObject({ ok: true, events: head!.seq, headSeq: head!.seq, headHash: head!.hash });
    expect(v.firstBadSeq).toBeUndefined();
    expect(typeof v.ms).toBe('number');
  });

  it('still rejects UPDATE and DELETE on audit_event while the trigger is on', async () => {
    await expect(t.db.query("UPDATE audit_event SET type = 'x' WHERE seq = 2")).rejects.toThrow(/append-only/);
    await expect(t.db.query('DELETE FROM audit_event WHERE seq = 2')).rejects.toThrow(/append-only/);
  });

  it('reports the first bad seq when one event was edited with the trigger bypassed', async () => {
    const before = (await t.db.query<{ payload: unknown }>('SELECT payload FROM audit_event WHERE seq = 3')).rows[0]!.payload;
    await bypassingTrigger(t.db, `UPDATE audit_event SET payload = jsonb_set(payload, '{watchlist}', '"edited"') WHERE seq = 3`);
    const v = await verify();
    expect(v).toMatchObject({ ok: false, firstBadSeq: 3 });
    expect(v.reason).toMatch(/hash/);
    await bypassingTrigger(t.db, 'UPDATE audit_event SET payload = $1::jsonb WHERE seq = 3', [JSON.stringify(before)]);
    expect((await verify()).ok).toBe(true);
  });

  it('detects a deleted event as a seq gap at the event after it', async () => {
    await t.db.query('CREATE TABLE saved_event AS SELECT * FROM audit_event WHERE seq = 4');
    await bypassingTrigger(t.db, 'DELETE FROM audit_event WHERE seq = 4');
    const v = await verify();
    expect(v).toMatchObject({ ok: false, firstBadSeq: 5 });
    expect(v.reason).toMatch(/expected seq 4/);
    await t.db.query('INSERT INTO audit_event SELECT * FROM saved_event');
    await t.db.query('DROP TABLE saved_event');
    expect((await verify()).ok).toBe(true);
  });

  it('detects two events whose contents were swapped (reordering)', async () => {
    const swap = `UPDATE audit_event a SET payload = b.payload, actor = b.actor, type = b.type, subject_ids = b.subject_ids
                    FROM audit_event b WHERE (a.seq, b.seq) IN ((5, 6), (6, 5))`;
    await bypassingTrigger(t.db, swap);
    const v = await verify();
    expect(v).toMatchObject({ ok: false, firstBadSeq: 5 });
    await bypassingTrigger(t.db, swap);
    expect((await verify()).ok).toBe(true);
  });

  it('exports NDJSON in seq order that verifies offline, and an edited line fails', async () => {
    const res = await request(svc.app).get('/v1/audit/export').set('Authorization', auditor).buffer(true).parse(text);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = (res.body as string).trim().split('\n');
    const seqs = lines.map((l) => JSON.parse(l).seq as number);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));

    const ok = await verifyAuditLines(lines);
    expect(ok).toMatchObject({ ok: true, events: lines.length, headHash: (await svc.audit.head(t.db))!.hash });

    const i = lines.findIndex((l) => JSON.parse(l).type === 'subject.created');
    const edited = [...lines];
    edited[i] = edited[i]!.replace('"watchlist":"wl"', '"watchlist":"other"');
    expect(edited[i]).not.toBe(lines[i]);
    expect(await verifyAuditLines(edited)).toMatchObject({ ok: false, firstBadSeq: i + 1 });
    expect(await verifyAuditLines(lines.filter((_, i) => i !== 2))).toMatchObject({ ok: false, firstBadSeq: 4 });
    expect(await verifyAuditLines([lines[0]!, 'not json', lines[1]!])).toMatchObject({ ok: false, badLine: 2 });
  });

  it('verifies a partial export (from=) starting at its first event’s prevHash', async () => {
    const all = (await exportText()).trim().split('\n').map((l) => JSON.parse(l));
    const from = all[3].at as string;
    const part = (await exportText(`?from=${encodeURIComponent(from)}`)).trim().split('\n');
    expect(JSON.parse(part[0]!).seq).toBeLessThanOrEqual(all[3].seq);
    expect(JSON.parse(part[part.length - 1]!).seq).toBe(all[all.length - 1].seq);
    const v = await verifyAuditLines(part);
    expect(v).toMatchObject({ ok: true, start: { seq: JSON.parse(part[0]!).seq } });
  });

  it('verify-audit script exits 0 on an intact export file and 1 on an edited one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-audit-'));
    const good = path.join(dir, 'good.ndjson');
    const bad = path.join(dir, 'bad.ndjson');
    const body = await exportText();
    fs.writeFileSync(good, body);
    fs.writeFileSync(bad, body.replace('"watchlist":"wl"', '"watchlist":"other"'));
    expect(fs.readFileSync(bad, 'utf8')).not.toBe(body);
    const out = await run(TSX, ['scripts/verify-audit.ts', good], { cwd: ROOT });
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: true });
    const failed = await run(TSX, ['scripts/verify-audit.ts', bad], { cwd: ROOT }).catch((e: { code: number; stdout: string }) => e);
    expect((failed as { code: number }).code).toBe(1);
    expect(JSON.parse((failed as { stdout: string }).stdout)).toMatchObject({ ok: false });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists events with filters and a seq cursor; an organization auditor sees its own organization only', async () => {
    const p1 = await request(svc.app).get('/v1/audit/events?type=subject.created&limit=2').set('Authorization', auditor).expect(200);
    expect(p1.body.items).toHaveLength(2);
    expect(p1.body.items.every((e: { type: string }) => e.type === 'subject.created')).toBe(true);
    const p2 = await request(svc.app).get(`/v1/audit/events?type=subject.created&limit=2&cursor=${p1.body.nextCursor}`).set('Authorization', auditor).expect(200);
    expect(p2.body.items[0].seq).toBeGreaterThan(p1.body.items[1].seq);

    const orgAuditor = (await svc.key(['auditor'], 'bank-a')).auth;
    const own = await request(svc.app).get('/v1/audit/events?limit=1000').set('Authorization', orgAuditor).expect(200);
    expect(own.body.items.length).toBeGreaterThan(0);
    expect(own.body.items.every((e: { actor: { organization: string } }) => e.actor.organization === 'bank-a')).toBe(true);
    expect(JSON.stringify(own.body)).not.toContain('bank-b');

    for (const p of ['/v1/audit/verify', '/v1/audit/export', '/v1/audit/anchors']) {
      const res = await request(svc.app).get(p).set('Authorization', orgAuditor);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect((await request(svc.app).get('/v1/audit/events?cursor=abc').set('Authorization', auditor)).status).toBe(400);
  });

  it('keeps seq gap-free and the chain unforked under 200 concurrent audited writes', async () => {
    await request(svc.app).get('/v1/subjects?limit=1').set('Authorization', enrollerA).expect(200); // key verified once (scrypt) before the burst (the read is audited too)
    const before = (await svc.audit.head(t.db))!.seq;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => request(svc.app).post('/v1/subjects').set('Authorization', enrollerA).send(subjectBody(1000 + i))),
    );
    expect(results.map((r) => r.status)).toEqual(Array(200).fill(201));
    const v = await verify();
    const n = await t.db.query<{ n: number; lo: number; hi: number }>('SELECT count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi FROM audit_event');
    expect(n.rows[0]).toEqual({ n: n.rows[0]!.hi, lo: 1, hi: before + 200 });
    expect(v).toMatchObject({ ok: true, headSeq: before + 200, events: before + 200 });
  });

  it('anchors the verified head: an audit.anchored event, a stored anchor, listed at /v1/audit/anchors', async () => {
    const head = (await svc.audit.head(t.db))!;
    const a = await svc.auditService.anchor({ keyId: null, organization: '*', roles: ['auditor'] });
    expect(a).toMatchObject({ seq: head.seq + 1, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const ev = (await request(svc.app).get(`/v1/audit/events?type=audit.anchored`).set('Authorization', auditor).expect(200)).body.items.at(-1);
    expect(ev).toMatchObject({ seq: a.seq, hash: a.hash, payload: { verifiedSeq: head.seq, verifiedHash: head.hash } });
    const list = await request(svc.app).get('/v1/audit/anchors').set('Authorization', auditor).expect(200);
    expect(list.body.items[0]).toMatchObject({ seq: a.seq, hash: a.hash });
    expect((await verify()).ok).toBe(true);
  });

  it('verify checks every stored anchor against the chain and reports one that contradicts it', async () => {
    const a = await svc.auditService.anchor({ keyId: null, organization: '*', roles: ['auditor'] });
    expect((await verify()).anchors).toMatchObject({ checked: expect.any(Number), mismatched: [] });
    await expect(t.db.query('UPDATE audit_anchor SET hash = $1 WHERE seq = $2', ['b2a0'.padEnd(64, '0'), a.seq])).rejects.toThrow(/append-only/);
    await bypassingTrigger(t.db, 'UPDATE audit_anchor SET hash = $1 WHERE seq = $2', ['b2a0'.padEnd(64, '0'), a.seq]);
    const v = await verify();
    expect(v).toMatchObject({ ok: false, firstBadSeq: a.seq });
    expect(v.reason).toMatch(/anchor/);
    expect(v.anchors.mismatched).toEqual([{ seq: a.seq, anchoredHash: 'b2a0'.padEnd(64, '0'), chainHash: a.hash }]);
    await bypassingTrigger(t.db, 'UPDATE audit_anchor SET hash = $1 WHERE seq = $2', [a.hash, a.seq]);
    expect((await verify()).ok).toBe(true);
  });

  it('npm run audit:anchor prints {seq, hash, at} and stores the anchor', async () => {
    let env: NodeJS.ProcessEnv;
    let check: () => Promise<void>;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-anchor-'));
    const { DATABASE_URL: _omit, ...base } = process.env;
    if (t.url) {
      env = { ...base, DATABASE_URL: t.url, LOG_LEVEL: 'silent' };
      check = async () => {
        const head = (await svc.audit.head(t.db))!;
        const stored = await t.db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_anchor ORDER BY seq DESC LIMIT 1');
        expect({ seq: Number(stored.rows[0]!.seq), hash: stored.rows[0]!.hash }).toEqual(head);
      };
    } else {
      // PGlite is single-process: the script gets its own on-disk database, checked after it exits.
      env = { ...base, DATA_DIR: dir, LOG_LEVEL: 'silent' };
      check = async () => {
        const { createPgliteDb } = await import('../../src/platform/db/pglite.db');
        const db = await createPgliteDb(path.join(dir, 'pgdata'));
        const r = await db.query<{ seq: number; type: string }>('SELECT a.seq, e.type FROM audit_anchor a JOIN audit_event e USING (seq)');
        expect(r.rows.map((x) => ({ seq: Number(x.seq), type: x.type }))).toEqual([{ seq: 1, type: 'audit.anchored' }]);
        await db.close();
      };
    }
    const out = await run(TSX, ['scripts/audit-anchor.ts'], { cwd: ROOT, env });
    const printed = JSON.parse(out.stdout);
    expect(printed).toEqual({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/), at: expect.any(String) });
    await check();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
