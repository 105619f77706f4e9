import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { sample } from '../helpers/fixtures';

/**
 * kill -9 in the middle of a screening job: a real service process (src/main.ts) on the test's PostgreSQL database runs the
 * job until it has finished some items and holds leases on others, is killed with SIGKILL, and another runner (this process)
 * takes over once the dead one's leases run out. Every item must end with exactly one audit event of its search (search.run
 * or search.failed) and the stored searches must be exactly the done items' ones. Bounded polls only, no timed assertions.
 */
const ROOT = path.resolve(__dirname, '../..');
const pg = backends().find((b) => b.name === 'postgres');
if (!pg) process.stderr.write('note: screening-job-restart.test.ts needs PostgreSQL (TEST_DATABASE_URL): two processes cannot share PGlite; skipped.\n');

(pg ? describe : describe.skip)('a screening job across a kill -9 of the service running it', () => {
  let t: TestDb;
  let engine: FaceEngine;
  let child: ChildProcess | null = null;
  const dirs: string[] = [];
  afterAll(async () => {
    child?.kill('SIGKILL');
    await engine?.close();
    await t?.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('every item is searched and recorded exactly once', async () => {
    t = await pg!.open();
    engine = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 16, maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 });
    const jobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-jobs-'));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-data-'));
    dirs.push(jobDir, dataDir);
    const imageKey = randomBytes(32).toString('base64');
    const svc = await startService(t.db, { engine, env: { FACEMATCH_ENCRYPTION_KEY: imageKey, SCREENING_JOB_DIR: jobDir, SCREENING_JOB_POLL_MS: '50', SCREENING_JOB_CONCURRENCY: '2' } });
    await svc.startEngine();
    const searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    await svc.watchlist('bank-a', 'own');
    const req = request(svc.app).post('/v1/jobs').set('Authorization', searcher).field('purpose', 'KYC re-screening').field('caseRef', 'KILL-1');
    for (const n of [1, 2, 3, 4, 5, 6] as const) req.attach('images', sample(n), `s${n}.jpg`);
    for (const n of [1, 2, 3, 4] as const) req.attach('images', await sharp(sample(n)).resize({ width: 700 }).jpeg().toBuffer(), `s${n}-small.jpg`);
    const sub = await req;
    expect(sub.status).toBe(202);
    const jobId = sub.body.id as string;

    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: t.url!,
        FACEMATCH_ENCRYPTION_KEY: imageKey,
        DATA_DIR: dataDir,
        SCREENING_JOB_DIR: jobDir,
        SCREENING_JOB_LEASE_MS: '3000',
        SCREENING_JOB_CONCURRENCY: '2',
        SCREENING_JOB_POLL_MS: '50',
        FACE_WORKERS: '1',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        PURPOSE_MIN_LENGTH: '1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const state = async () =>
      (await t.db.query<{ done: number; leased: number }>(
        "SELECT count(*) FILTER (WHERE status <> 'pending')::int AS done, count(*) FILTER (WHERE status = 'pending' AND lease_until > clock_timestamp())::int AS leased FROM screening_job_item WHERE job_id = $1",
        [jobId],
      )).rows[0]!;
    let atKill = { done: 0, leased: 0 };
    for (let i = 0; i < 6000; i++) {
      atKill = await state();
      if (atKill.done >= 3 && atKill.leased >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(atKill.done).toBeGreaterThanOrEqual(3);
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    child = null;
    const afterKill = await state();
    expect(afterKill.done).toBeLessThan(10);

    await svc.jobWorker.start();
    let body: { status: string; items: Record<string, number> } = { status: '', items: {} };
    for (let i = 0; i < 6000 && body.status !== 'done'; i++) {
      body = (await request(svc.app).get(`/v1/jobs/${jobId}`).set('Authorization', searcher)).body;
      if (body.status !== 'done') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await svc.jobWorker.stop();
    expect(body).toMatchObject({ status: 'done', items: { total: 10, pending: 0 } });
    const items = (await t.db.query<{ seq: number; status: string; search_id: string | null; attempts: number }>('SELECT seq, status, search_id, attempts FROM screening_job_item WHERE job_id = $1 ORDER BY seq', [jobId])).rows;
    const searches = (await t.db.query<{ id: string }>("SELECT id FROM search WHERE case_ref = 'KILL-1'")).rows.map((r) => r.id).sort();
    expect(searches).toEqual(items.filter((i) => i.status === 'done').map((i) => i.search_id).sort());
    const events = (await t.db.query<{ seq: number; n: number }>(
      "SELECT (payload->'job'->>'item')::int AS seq, count(*)::int AS n FROM audit_event WHERE type IN ('search.run', 'search.failed') AND payload->'job'->>'id' = $1 GROUP BY 1 ORDER BY 1",
      [jobId],
    )).rows;
    expect(events.map((e) => [e.seq, e.n])).toEqual(items.map((i) => [i.seq, 1]));
    // The items the dead process held were taken again (a second attempt) by this one.
    expect(items.filter((i) => i.attempts >= 2).length).toBeGreaterThanOrEqual(1);
  });
});
