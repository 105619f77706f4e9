/**
 * Bulk-enrolment throughput: starts a scratch service, makes a CSV from LFW photos and times `npm run enrol` on it at
 * several concurrencies (docs/BENCHMARKS.md "Bulk enrolment"):
 *
 *   npx tsx scripts/enrol-bench.ts [--images 1000] [--photos <dir>] [--concurrency 2,4,8] [--workers 2] [--database-url postgres://…/postgres]
 *
 * The service runs from the sources (tsx src/main.ts) with FACE_WORKERS=--workers, the default model and a rate limit high
 * enough not to throttle, on a scratch database: with --database-url a new database in that cluster (dropped afterwards;
 * the cluster needs pgvector), else an embedded PGlite in a temporary DATA_DIR. Each concurrency enrols the same photos
 * onto a watchlist of its own, then the last one is run again to time a resumed run where everything is already there.
 * Photos: the first --images of ../shared/datasets/lfw-dev/lfw-deepfunneled (or FACEMATCH_DATASETS), people in name order,
 * one subject per person (externalRef = the folder name); or with --photos a flat folder with an identities.csv (image,identity:
 * e.g. ../shared/datasets/deepface, 61 camera photos of 13 people), every row of it in file order. Rows the service refuses (LOW_QUALITY, MULTIPLE_FACES, …) cost
 * the same analysis, so rows/s is the throughput; enrolled/s counts the templates stored.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { csvLine, readCsvFile } from './lib/csv';
import { lfwPhotos } from './lib/lfw';

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '1000' },
    photos: { type: 'string' },
    concurrency: { type: 'string', default: '2,4,8' },
    workers: { type: 'string', default: '2' },
    'database-url': { type: 'string' },
  },
});
const images = Number(values.images);
const levels = values.concurrency.split(',').map(Number);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', reject);
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Every row of `<dir>/identities.csv` (columns image, identity), in file order. */
function identityPhotos(dir: string): { person: string; file: string }[] {
  const [header, ...rows] = fs.readFileSync(path.join(dir, 'identities.csv'), 'utf8').trim().split(/\r?\n/).map((l) => l.split(','));
  const [img, id] = [header!.indexOf('image'), header!.indexOf('identity')];
  return rows.map((r) => ({ person: r[id]!, file: path.resolve(dir, r[img]!) }));
}

async function main() {
  const photos = values.photos ? identityPhotos(values.photos) : lfwPhotos(ROOT, images);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'enrol-bench-'));
  const admin = randomBytes(24).toString('base64url');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let scratchDb: string | null = null;
  const env: NodeJS.ProcessEnv = {
    PORT: String(port),
    HOST: '127.0.0.1',
    FACE_WORKERS: values.workers,
    FACEMATCH_BOOTSTRAP_ADMIN_KEY: admin,
    FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: 'warn',
    DATA_DIR: path.join(tmp, 'data'),
  };
  if (values['database-url']) {
    scratchDb = `facematch_enrol_bench_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client({ connectionString: values['database-url'] });
    await c.connect();
    await c.query(`CREATE DATABASE ${scratchDb}`);
    await c.end();
    const u = new URL(values['database-url']);
    u.pathname = `/${scratchDb}`;
    const d = new pg.Client({ connectionString: u.toString() });
    await d.connect();
    await d.query('CREATE EXTENSION IF NOT EXISTS vector');
    await d.end();
    env.DATABASE_URL = u.toString();
  }
  const service = spawn(process.execPath, [require.resolve('tsx/cli'), 'src/main.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; ; i++) {
      if (i > 600) throw new Error('the service did not become ready in 5 minutes');
      const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const call = async (route: string, body: unknown, key = admin) => {
      const r = await fetch(`${url}${route}`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`${route}: ${r.status} ${await r.text()}`);
      return (await r.json()) as Record<string, string>;
    };
    const enroller = (await call('/v1/keys', { roles: ['enroller'], organization: 'bench', holder: 'enrol bench' })).key!;

    // Where the time goes, from the service's own histograms: mean per request route and per inference stage over one run.
    const metrics = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const m = new Map<string, number>();
      for (const line of text.split('\n')) {
        const hit = /^facematch_(http_request_duration|inference)_seconds_(sum|count)\{([^}]*)\} (\S+)$/.exec(line);
        if (hit) m.set(`${hit[1] === 'inference' ? 'inference' : 'http'} ${hit[3]!.replace(/"/g, '')} ${hit[2]}`, Number(hit[4]));
      }
      return m;
    };
    const means = (a: Map<string, number>, b: Map<string, number>) => {
      const out: Record<string, number> = {};
      for (const [k, sum] of b) {
        if (!k.endsWith(' sum')) continue;
        const key = k.slice(0, -4);
        const n = (b.get(`${key} count`) ?? 0) - (a.get(`${key} count`) ?? 0);
        if (n > 0) out[`${key} (${n})`] = Number(((1000 * (sum - (a.get(k) ?? 0))) / n).toFixed(1));
      }
      return out;
    };
    const serviceCpu = async () => Number(/^facematch_process_cpu_seconds_total (\S+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN);
    // PostgreSQL backends of the scratch database (the service's pool keeps them for the whole run): utime + stime from /proc.
    const dbCpu = async () => {
      if (!scratchDb) return 0; // PGlite runs inside the service process
      const c = new pg.Client({ connectionString: values['database-url'] });
      await c.connect();
      const pids = (await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [scratchDb])).rows.map((x) => x.pid);
      await c.end();
      let ticks = 0;
      for (const pid of pids) {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5): utime, stime
      }
      return ticks / 100; // USER_HZ
    };
    const results: Record<string, unknown>[] = [];
    const once = async (concurrency: number, watchlist: string, label: string) => {
      const csv = path.join(tmp, `${watchlist}.csv`);
      if (!fs.existsSync(csv)) {
        await call('/v1/watchlists', { name: watchlist, jurisdiction: 'EU', legalBasis: 'benchmark' }, enroller);
        const lines = [csvLine(['displayName', 'category', 'watchlist', 'legalBasis', 'image', 'externalRef'])];
        for (const p of photos) lines.push(csvLine([p.person.replaceAll('_', ' '), 'fraud', watchlist, 'benchmark', p.file, p.person]));
        fs.writeFileSync(csv, lines.join(''));
      }
      const before = await metrics();
      const cpu0 = { service: await serviceCpu(), db: await dbCpu() };
      const timeFile = path.join(tmp, 'time.txt');
      const t0 = performance.now();
      // GNU time reports the CLI's CPU with its children's (run-script.js → tsx → enrol.ts).
      const r = await run('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, process.execPath, path.join(ROOT, 'bin/run-script.js'), 'enrol', '--url', url, '--key', enroller, '--csv', csv, '--concurrency', String(concurrency)]);
      const seconds = (performance.now() - t0) / 1000;
      const cliCpu = fs.readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number).reduce((a, b) => a + b, 0);
      const cpuMs = (x: number) => Number(((1000 * x) / photos.length).toFixed(1));
      const cpuPerRow = { service: cpuMs((await serviceCpu()) - cpu0.service), postgres: cpuMs((await dbCpu()) - cpu0.db), cli: cpuMs(cliCpu) };
      const cpuTotal = cpuPerRow.service + cpuPerRow.postgres + cpuPerRow.cli;
      const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { rows: number; enrolled: number; skipped: number; failed: number };
      if (r.status === 2 || summary.rows !== photos.length) throw new Error(`enrol failed: ${r.stderr}`);
      const codes: Record<string, number> = {};
      if (fs.existsSync(`${csv}.errors.csv`)) {
        let header: string[] | null = null;
        for await (const rec of readCsvFile(`${csv}.errors.csv`)) {
          if (!header) header = rec.fields;
          else {
            const code = rec.fields[header.indexOf('errorCode')] ?? '?';
            codes[code] = (codes[code] ?? 0) + 1;
          }
        }
      }
      const row = {
        run: label,
        concurrency,
        rows: summary.rows,
        enrolled: summary.enrolled,
        skipped: summary.skipped,
        refused: summary.failed,
        refusals: codes,
        seconds: Number(seconds.toFixed(1)),
        rowsPerSecond: Number((summary.rows / seconds).toFixed(1)),
        enrolledPerSecond: Number((summary.enrolled / seconds).toFixed(1)),
        loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
        meanMs: means(before, await metrics()),
        // CPU time per row of everything involved; on a machine shared with other work, CPUs ÷ this is the rate the same work
        // would reach with the CPUs to itself (an upper bound: it assumes the work spreads over every core).
        cpuMsPerRow: { ...cpuPerRow, total: Number(cpuTotal.toFixed(1)) },
        cpuBoundRowsPerSecond: Number(((1000 * os.availableParallelism()) / cpuTotal).toFixed(1)),
      };
      results.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    };
    for (const c of levels) await once(c, `bench-c${c}`, 'fresh');
    await once(levels.at(-1)!, `bench-c${levels.at(-1)}`, 'resumed (all there)');

    process.stdout.write(
      `${JSON.stringify({ images: photos.length, workers: Number(values.workers), database: scratchDb ? 'postgres' : 'pglite', cpus: os.availableParallelism(), results }, null, 1)}\n`,
    );
  } finally {
    service.kill('SIGTERM');
    await new Promise((r) => service.once('exit', r));
    fs.rmSync(tmp, { recursive: true, force: true });
    if (scratchDb) {
      const c = new pg.Client({ connectionString: values['database-url'] });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${scratchDb} WITH (FORCE)`);
      await c.end();
    }
  }
}

main().catch((e: Error) => {
  process.stderr.write(`enrol-bench: ${e.message}\n`);
  process.exit(1);
});
