/** Measures a batch screening job of LFW photos end to end (submit → every item searched through the runner), printing its rate (figures in docs/SCALING.md, "Batch screening"): `npx tsx scripts/job-bench.ts [--photos 2000] [--gallery 200] [--restart] [--database-url postgres://…]`. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { compose } from '../src/compose';
import { loadConfig } from '../src/config';
import { migrate } from '../src/platform/db/migrate';
import { createPgliteDb } from '../src/platform/db/pglite.db';
import { createPostgresDb } from '../src/platform/db/postgres.db';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '2000' },
    gallery: { type: 'string', default: '200' },
    restart: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    datasets: { type: 'string', default: process.env.FACEMATCH_DATASETS ?? path.resolve(__dirname, '../../shared/datasets') },
  },
});

async function main() {
  const lfw = path.join(values.datasets!, 'lfw-dev', 'lfw-deepfunneled');
  if (!fs.existsSync(lfw)) {
    process.stderr.write(`LFW is not at ${lfw} (see ../shared/datasets/README.md); nothing measured.\n`);
    process.exit(2);
  }
  const people = fs.readdirSync(lfw).sort();
  const all = people.flatMap((p) => fs.readdirSync(path.join(lfw, p)).sort().map((f) => path.join(lfw, p, f)));
  const photos = all.slice(0, Number(values.photos));
  const jobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'job-bench-'));
  const db = values['database-url'] ? await createPostgresDb(values['database-url'], 10) : await createPgliteDb('memory://');
  await migrate(db);
  const config = loadConfig({ FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'), ...process.env, LOG_LEVEL: 'silent', DATA_DIR: 'memory://', SCREENING_JOB_DIR: jobDir, SCREENING_JOB_MAX_ITEMS: String(Math.max(photos.length, 10)), SCREENING_JOB_POLL_MS: '50' });
  const system = await compose({ config, db, logger: pino({ level: 'silent' }) });
  await system.startEngine();
  const admin = { keyId: 'bench', roles: ['admin' as const], organization: '*' };
  const enroller = `Bearer ${(await system.keys.create(admin, { roles: ['enroller'], organization: 'fiu', holder: 'bench' })).key}`;
  const searcher = `Bearer ${(await system.keys.create(admin, { roles: ['searcher'], organization: 'bank', holder: 'bench' })).key}`;
  const server = http.createServer(system.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const call = async (method: string, url: string, auth: string, body?: unknown) => {
    const r = await fetch(base + url, { method, headers: { Authorization: auth, ...(body instanceof FormData ? {} : { 'Content-Type': 'application/json' }) }, body: body instanceof FormData ? body : body ? JSON.stringify(body) : undefined });
    return (await r.json()) as Record<string, any>;
  };
  // A gallery: the first photo of people not among the probes' first ones, in a watchlist granted to the bank for screening.
  const wl = await system.watchlists.create({ keyId: 'owner', roles: ['admin'], organization: 'fiu' }, { name: 'bench', description: null, jurisdiction: 'EU', legalBasis: 'bench', retentionDays: null });
  const offer = await system.watchlists.grant({ keyId: 'owner', roles: ['admin'], organization: 'fiu' }, wl.id, { organization: 'bank', access: 'screen' });
  // A grant gives nothing until the receiving organization accepts it (migration 0140): unaccepted, every item would search an
  // empty scope, cheaper than a real screening and never a hit.
  await system.watchlists.answer({ keyId: 'bank-admin', roles: ['admin'], organization: 'bank' }, offer.id, 'accept');
  let enrolled = 0;
  for (const p of people.slice(-Number(values.gallery))) {
    const s = await call('POST', '/v1/subjects', enroller, { displayName: p, category: 'other', watchlist: 'bench', legalBasis: 'bench' });
    const f = new FormData();
    f.append('image', new Blob([fs.readFileSync(path.join(lfw, p, fs.readdirSync(path.join(lfw, p)).sort()[0]!))]), 'g.jpg');
    if ((await call('POST', `/v1/subjects/${s.id}/faces`, enroller, f)).faceId) enrolled++;
  }
  const form = new FormData();
  for (const [k, v] of Object.entries({ purpose: 'benchmark re-screening', caseRef: 'BENCH-JOB', mode: 'screening' })) form.append(k, v);
  form.append('manifest', new Blob([photos.map((p, i) => JSON.stringify({ file: `${i}.jpg`, clientRef: path.basename(p) })).join('\n')]), 'm.ndjson');
  for (const [i, p] of photos.entries()) form.append('images', new Blob([fs.readFileSync(p)]), `${i}.jpg`);
  const t0 = Date.now();
  const job = await call('POST', '/v1/jobs', searcher, form);
  const submitMs = Date.now() - t0;
  const t1 = Date.now();
  await system.jobWorker.start();
  let restarted = false;
  let j = job;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    j = await call('GET', `/v1/jobs/${job.id}`, searcher);
    if (values.restart && !restarted && j.items.done + j.items.failed >= photos.length / 2) {
      await system.jobWorker.stop();
      await system.jobWorker.start();
      restarted = true;
    }
    if (j.status === 'done') break;
  }
  const runMs = Date.now() - t1;
  await system.jobWorker.stop();
  const dup = await db.query<{ n: number; d: number }>("SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM search WHERE case_ref = 'BENCH-JOB'");
  const lost = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM screening_job_item WHERE job_id = $1 AND status = 'pending'", [job.id]);
  const codes = await db.query<{ code: string; n: number }>('SELECT error_code AS code, count(*)::int AS n FROM screening_job_item WHERE job_id = $1 AND error_code IS NOT NULL GROUP BY 1', [job.id]);
  process.stdout.write(`${JSON.stringify({
    database: db.kind, cpus: os.cpus().length, loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100), faceWorkers: config.face.workers, concurrency: config.jobs.concurrency,
    photos: photos.length, gallery: enrolled, submitSeconds: submitMs / 1000, runSeconds: runMs / 1000, photosPerSecond: Math.round((photos.length / (runMs / 1000)) * 100) / 100,
    job: { ratePerSecond: j.ratePerSecond, items: j.items }, restartedMidway: restarted, storedSearches: dup.rows[0]!.n, distinctSearches: dup.rows[0]!.d, pendingLeft: lost.rows[0]!.n, errors: codes.rows,
  })}\n`);
  server.close();
  await system.close();
  // A run whose gallery was out of the job's scope measured an empty kNN, not a screening: say so and fail.
  if (j.items.withCandidates === 0) process.stderr.write('no item returned a candidate: the gallery was not in the job\'s scope, the rate above is not a screening rate\n');
  await db.close();
  fs.rmSync(jobDir, { recursive: true, force: true });
  if (j.items.withCandidates === 0) process.exit(3);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
