import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { readMigrations } from '../../src/platform/db/migrate';
import { backends, type TestDb } from '../helpers/databases';
import { sample } from '../helpers/fixtures';

/**
 * Two real service processes (`src/main.ts`, the default ONNX engine) on one fresh PostgreSQL database, under concurrent load
 * across both: both migrate and bootstrap at once; keys, watchlist, enrolments and searches (face-api's demo photos) go to
 * either; the audit chain stays one chain; a per-key limit and the failed-authentication limit per address hold across both;
 * each hit notice reaches the webhook once; SIGTERM on one mid-load turns its /readyz 503 while it still answers, lets its
 * in-flight requests finish, and the other keeps serving; every search answered 200 is stored and audited. No timed
 * assertions: every wait is a bounded poll on a condition.
 */
const ROOT = path.resolve(__dirname, '../..');
const pgBackend = backends().find((b) => b.name === 'postgres');
if (!pgBackend) {
  process.stderr.write(
    'note: test/integration/multi-instance.test.ts needs PostgreSQL (set TEST_DATABASE_URL): PGlite is embedded in one process, so there is no second instance to start; skipped.\n',
  );
}

const PER_KEY = 40;
const PER_ADDRESS = 10;

interface Instance {
  name: string;
  url: string;
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Polls `check` until it returns a value (not undefined), at most `tries` times `everyMs` apart; throws naming `what`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, tries = 600, everyMs = 250): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting: ${what}`);
}

function start(name: string, env: Record<string, string>, port: number): Instance {
  // node itself with tsx's loader (not the tsx CLI, which would fork a grandchild the signals would not reach).
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { name, url: `http://127.0.0.1:${port}`, child, output: () => out, exit };
}

async function call(inst: Instance, method: string, p: string, o: { auth?: string; json?: unknown; form?: FormData } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.auth) headers.Authorization = `Bearer ${o.auth}`;
  if (o.json !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(inst.url + p, { method, headers, body: o.form ?? (o.json !== undefined ? JSON.stringify(o.json) : undefined) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON (metrics) */
  }
  return { status: res.status, body, headers: res.headers };
}

const imageForm = (image: Buffer, fields: Record<string, string> = {}) => {
  const f = new FormData();
  f.append('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'photo.jpg');
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
};

(pgBackend ? describe : describe.skip)('two service instances on one PostgreSQL', () => {
  let t: TestDb;
  let a: Instance;
  let b: Instance;
  const dirs: string[] = [];
  let admin = '';
  const keys: Record<string, string> = {};
  let watchlistId = '';
  let faceCrop: Buffer;
  const searches: Array<{ via: string; status: number; searchId?: string }> = [];
  const delivered: string[] = [];
  let receiver: http.Server;
  let receiverUrl = '';

  const search = async (inst: Instance, auth: string, image: Buffer, mode: 'investigation' | 'screening', ref: string) => {
    const r = await call(inst, 'POST', '/v1/searches', { auth, form: imageForm(image, { purpose: 'multi-instance test', caseRef: ref, ...(mode === 'screening' ? { mode } : {}) }) });
    searches.push({ via: inst.name, status: r.status, searchId: r.body?.searchId });
    return r;
  };

  beforeAll(async () => {
    t = await pgBackend!.open({ empty: true });
    faceCrop = await sharp(sample(1)).extract({ left: 1405, top: 115, width: 345, height: 409 }).jpeg().toBuffer();
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        delivered.push(String(req.headers['webhook-id']));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as net.AddressInfo).port}/notices`;
    const shared = {
      DATABASE_URL: t.url!,
      FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      FACE_WORKERS: '1',
      FACE_QUEUE_LIMIT: '64',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: String(PER_KEY),
      RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: String(PER_ADDRESS),
      SHUTDOWN_READINESS_DELAY_MS: '3000',
      // The receiver is on loopback: reachable only with the test override (NODE_ENV=test).
      NODE_ENV: 'test',
      OUTBOUND_ALLOW_HTTP: 'true',
      OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: 'true',
    };
    // No FACEMATCH_BOOTSTRAP_ADMIN_KEY: the instance that wins the bootstrap prints a generated key.
    const [pa, pb] = [await freePort(), await freePort()];
    for (const n of ['a', 'b']) dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), `multi-${n}-`)));
    a = start('a', { ...shared, DATA_DIR: dirs[0]! }, pa);
    b = start('b', { ...shared, DATA_DIR: dirs[1]! }, pb);
  }, 60_000);

  afterAll(async () => {
    for (const inst of [a, b]) if (inst && inst.child.exitCode === null) inst.child.kill('SIGKILL');
    await Promise.all([a?.exit, b?.exit]);
    await new Promise((resolve) => receiver?.close(resolve));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await t?.drop();
  });

  it('both start at once on an empty database: migrations applied once, exactly one admin key generated and printed', async () => {
    for (const inst of [a, b]) {
      await until(`${inst.name} /readyz 200 (output so far: ${inst.output().slice(-500)})`, async () =>
        inst.child.exitCode === null && (await call(inst, 'GET', '/readyz')).status === 200 ? true : undefined,
      );
    }
    const printed = [a, b].map((i) => /^ {4}(fm_[A-Za-z0-9_-]+)$/m.exec(i.output())?.[1]).filter((k): k is string => !!k);
    expect(printed).toHaveLength(1);
    admin = printed[0]!;
    const boot = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_event WHERE type = 'key.bootstrapped'");
    expect(boot.rows[0]!.n).toBe(1);
    const migrations = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migration');
    expect(migrations.rows[0]!.n).toBe(readMigrations().length);
  });

  it('creates keys, a shared watchlist, a webhook and enrolments through both instances at once', async () => {
    const specs: Array<[string, string, string]> = [
      ['fiuAdmin', 'admin', 'fiu'], ['enroller', 'enroller', 'fiu'], ['auditor', 'auditor', '*'], ['bank', 'searcher', 'bank-a'], ['bankAdmin', 'admin', 'bank-a'],
      ['limited', 'auditor', 'fiu'], ...Array.from({ length: 8 }, (_, i): [string, string, string] => [`searcher${i}`, 'searcher', 'fiu']),
    ];
    const made = await Promise.all(
      specs.map(([name, role, org], i) =>
        call(i % 2 ? b : a, 'POST', '/v1/keys', { auth: admin, json: { roles: [role], organization: org, holder: `${name} holder`, label: name } }),
      ),
    );
    expect(made.map((r) => r.status)).toEqual(specs.map(() => 201));
    specs.forEach(([name], i) => (keys[name] = made[i]!.body.key));

    const wl = await call(a, 'POST', '/v1/watchlists', { auth: keys.enroller, json: { name: 'ml', jurisdiction: 'DE', legalBasis: 'test' } });
    expect(wl.status).toBe(201);
    watchlistId = wl.body.id;
    const [grant, hook] = await Promise.all([
      call(b, 'POST', `/v1/watchlists/${watchlistId}/grants`, { auth: keys.fiuAdmin, json: { organization: 'bank-a', access: 'screen' } }),
      call(a, 'PUT', '/v1/webhooks', { auth: keys.fiuAdmin, json: { url: receiverUrl } }),
    ]);
    expect([grant.status, hook.status]).toEqual([201, 200]);
    // accepted on the other instance: a grant gives nothing until the receiving organization's admin accepts it
    expect((await call(a, 'POST', `/v1/grants/${grant.body.id}/accept`, { auth: keys.bankAdmin })).status).toBe(200);

    const enrolled = await Promise.all(
      [a, b, a, b].map(async (inst, i) => {
        const s = await call(inst, 'POST', '/v1/subjects', { auth: keys.enroller, json: { displayName: `Subject ${i}`, category: 'money_laundering', watchlist: 'ml', legalBasis: 'test' } });
        expect(s.status).toBe(201);
        return (await call(inst === a ? b : a, 'POST', `/v1/subjects/${s.body.id}/faces`, { auth: keys.enroller, form: imageForm(faceCrop) })).status;
      }),
    );
    expect(enrolled).toEqual([201, 201, 201, 201]);
  });

  it('holds one per-key bucket across both instances: the allowed requests never exceed the bucket plus its refill', async () => {
    const t0 = Date.now();
    const answers: Answer[] = [];
    for (let round = 0; round < 10; round++) {
      answers.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => call(i % 2 ? b : a, 'GET', '/v1/keys/me', { auth: keys.limited })))));
    }
    const elapsed = Date.now() - t0;
    const allowed = answers.filter((r) => r.status === 200).length;
    const refused = answers.filter((r) => r.status === 429);
    expect(allowed + refused.length).toBe(100);
    // Two separate buckets would let 2 × PER_KEY through; one lets PER_KEY plus what refilled while the requests ran.
    expect(allowed).toBeGreaterThanOrEqual(PER_KEY);
    expect(allowed).toBeLessThanOrEqual(PER_KEY + Math.ceil((elapsed * PER_KEY) / 60_000));
    for (const r of refused) {
      expect(r.body.error.code).toBe('RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('ratelimit-limit')).toBe(String(PER_KEY));
    }
    expect(new Set(answers.map((r) => r.headers.get('ratelimit-limit')))).toEqual(new Set([String(PER_KEY)]));
  });

  it('holds one failed-authentication bucket per address across both instances', async () => {
    const t0 = Date.now();
    const answers: Answer[] = [];
    for (let i = 0; i < 30; i++) answers.push(await call(i % 2 ? b : a, 'GET', '/v1/keys', { auth: 'fm_not-a-real-key-000000000000000000' }));
    const elapsed = Date.now() - t0;
    const unauthenticated = answers.filter((r) => r.status === 401).length;
    expect(unauthenticated + answers.filter((r) => r.status === 429).length).toBe(30);
    expect(unauthenticated).toBeGreaterThanOrEqual(PER_ADDRESS);
    expect(unauthenticated).toBeLessThanOrEqual(PER_ADDRESS + Math.ceil((elapsed * PER_ADDRESS) / 60_000));
    // Keyed requests from the same address are not held by it.
    expect((await call(b, 'GET', '/v1/keys/me', { auth: keys.auditor })).status).toBe(200);
  });

  it('serves concurrent searches, enrolments and key creations across both; each hit notice reaches the webhook once', async () => {
    const work: Array<Promise<number>> = [];
    for (let i = 0; i < 12; i++) {
      const inst = i % 2 ? b : a;
      const photo = sample(((i % 6) + 1) as 1 | 2 | 3 | 4 | 5 | 6);
      work.push(search(inst, keys[`searcher${i % 8}`]!, photo, 'investigation', `LOAD-${i}`).then((r) => r.status));
    }
    for (let i = 0; i < 4; i++) work.push(search(i % 2 ? a : b, keys.bank!, sample(1), 'screening', `KYC-${i}`).then((r) => r.status));
    for (let i = 0; i < 2; i++) {
      work.push(
        (async () => {
          const s = await call(i ? a : b, 'POST', '/v1/subjects', { auth: keys.enroller, json: { displayName: `Loaded ${i}`, category: 'fraud', watchlist: 'ml', legalBasis: 'test' } });
          return (await call(i ? b : a, 'POST', `/v1/subjects/${s.body.id}/faces`, { auth: keys.enroller, form: imageForm(faceCrop) })).status;
        })(),
      );
      work.push(call(i ? b : a, 'POST', '/v1/keys', { auth: admin, json: { roles: ['reviewer'], organization: 'fiu', holder: `reviewer ${i}` } }).then((r) => r.status));
    }
    const statuses = await Promise.all(work);
    expect(statuses).toEqual([...Array(16).fill(200), 201, 201, 201, 201]);

    // Every screening search by the partner hit the enrolled faces: notices written, then delivered by whichever instance
    // claimed each one — once.
    const notices = (await t.db.query<{ id: string }>('SELECT id FROM hit_notice ORDER BY id')).rows.map((r) => r.id);
    expect(notices.length).toBeGreaterThanOrEqual(4);
    await until('every webhook delivery delivered', async () => {
      const r = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_delivery WHERE status <> 'delivered'");
      return r.rows[0]!.n === 0 ? true : undefined;
    });
    expect([...delivered].sort()).toEqual(notices);
    const attempts = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_attempt');
    expect(attempts.rows[0]!.n).toBe(notices.length);
  });

  it('SIGTERM on one mid-load: its /readyz turns 503 while it drains, its in-flight requests finish, the other keeps serving', async () => {
    let stop = false;
    let aCompleted = 0;
    let signalled = false;
    const outcomes: Array<{ via: string; status: number | 'connection'; sentBeforeSignal: boolean; answeredAfterSignal: boolean }> = [];
    const worker = async (inst: Instance, key: string, n: number, mode: 'investigation' | 'screening' = 'investigation') => {
      for (let i = 0; !stop; i++) {
        const sentBeforeSignal = !signalled;
        try {
          const photo = mode === 'screening' ? sample(1) : sample((((n + i) % 6) + 1) as 1 | 2 | 3 | 4 | 5 | 6);
          const r = await search(inst, key, photo, mode, `DRAIN-${n}-${i}`);
          outcomes.push({ via: inst.name, status: r.status, sentBeforeSignal, answeredAfterSignal: signalled });
          if (inst === a && r.status === 200) aCompleted++;
        } catch {
          // Refused or cut connection: the instance has stopped listening. Nothing was answered, so nothing is counted.
          outcomes.push({ via: inst.name, status: 'connection', sentBeforeSignal, answeredAfterSignal: signalled });
          if (inst === a) return;
        }
      }
    };
    // The partner's screening on a writes hit notices during the drain: a's webhook pass in progress must finish, not repeat.
    const load = [worker(a, keys.searcher0!, 0), worker(a, keys.bank!, 1, 'screening'), worker(b, keys.searcher2!, 2), worker(b, keys.searcher3!, 3)];
    await until('two searches answered by a under load', async () => (aCompleted >= 2 ? true : undefined));

    signalled = true;
    a.child.kill('SIGTERM');
    const draining = await until('a /readyz 503 while draining', async () => {
      const r = await call(a, 'GET', '/readyz');
      return r.status === 503 ? r : undefined;
    }, 400, 25);
    expect(draining.body).toMatchObject({ status: 'not_ready', checks: { serving: false, database: true, models: true } });
    expect((await call(b, 'GET', '/readyz')).status).toBe(200);

    expect(await until('a exits', async () => (a.child.exitCode !== null ? a.child.exitCode : undefined))).toBe(0);
    const served = outcomes.filter((o) => o.via === 'b' && o.status === 200).length;
    await until('b answers two more searches after a stopped', async () =>
      outcomes.filter((o) => o.via === 'b' && o.status === 200).length >= served + 2 ? true : undefined,
    );
    stop = true;
    await Promise.all(load);

    expect(a.output()).toMatch(/"msg":"draining: \/readyz answers 503"/);
    expect(a.output()).toMatch(/"msg":"stopped"/);
    // What a had in flight when it was signalled finished with 200; afterwards it answered 200 or refused the connection once
    // it stopped listening; b answered every request with 200.
    const inFlight = outcomes.filter((o) => o.via === 'a' && o.sentBeforeSignal && o.answeredAfterSignal);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.filter((o) => o.status !== 200)).toEqual([]);
    expect(outcomes.filter((o) => o.via === 'a' && o.status !== 200 && o.status !== 'connection')).toEqual([]);
    expect(outcomes.filter((o) => o.via === 'b' && o.status !== 200)).toEqual([]);
    expect((await call(b, 'GET', '/readyz')).status).toBe(200);
    const count = (via: string, status: number | 'connection') => outcomes.filter((o) => o.via === via && o.status === status).length;
    const drained = outcomes.filter((o) => o.via === 'a' && o.answeredAfterSignal && o.status === 200).length;
    process.stdout.write(
      `[drain] a: ${count('a', 200)} answered 200 (${inFlight.length} in flight at SIGTERM, ${drained} answered after it), ${count('a', 'connection')} refused after it stopped listening; b: ${count('b', 200)} answered 200\n`,
    );
  });

  it('lost nothing: every search answered 200 is stored with its audit event, the chain is one unbroken chain, every notice delivered once', async () => {
    const ok = searches.filter((s) => s.status === 200);
    expect(ok.length).toBeGreaterThan(16);
    const ids = ok.map((s) => s.searchId!);
    const stored = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM search WHERE id = ANY($1::uuid[])', [ids]);
    expect(stored.rows[0]!.n).toBe(ids.length);
    const audited = await t.db.query<{ n: number }>("SELECT count(DISTINCT search_id)::int AS n FROM audit_event WHERE type = 'search.run' AND search_id = ANY($1::uuid[])", [ids]);
    expect(audited.rows[0]!.n).toBe(ids.length);

    const shape = await t.db.query<{ n: number; lo: number; hi: number; prevs: number; broken: number }>(
      `SELECT count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi, count(DISTINCT prev_hash)::int AS prevs,
              (SELECT count(*)::int FROM audit_event e JOIN audit_event p ON p.seq = e.seq - 1 WHERE e.prev_hash <> p.hash) AS broken
         FROM audit_event`,
    );
    const { n, lo, hi, prevs, broken } = shape.rows[0]!;
    expect({ lo, hi, prevs, broken }).toEqual({ lo: 1, hi: n, prevs: n, broken: 0 });
    const verified = await call(b, 'GET', '/v1/audit/verify', { auth: keys.auditor });
    expect(verified.body).toMatchObject({ ok: true, events: n, headSeq: n });

    await until('deliveries of notices written during the drain', async () => {
      const r = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_delivery WHERE status <> 'delivered'");
      return r.rows[0]!.n === 0 ? true : undefined;
    });
    const notices = (await t.db.query<{ id: string }>('SELECT id FROM hit_notice ORDER BY id')).rows.map((r) => r.id);
    expect([...delivered].sort()).toEqual(notices);
  });
});
