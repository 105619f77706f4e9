import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backends, type TestDb } from '../helpers/databases';
import { carryOutStage, parseDockerfile, type StageResult } from '../helpers/dockerfile';
import { freePort } from '../helpers/replica-cluster';

/**
 * The Dockerfile carried out stage by stage in temp folders (test/helpers/dockerfile.ts): the build stage gets exactly the
 * files its COPY lines take from the build context (minus .dockerignore) and runs `npm run build`; the runtime stage gets
 * what it copies from the context and from the build stage. Then the image's documented commands run from the runtime
 * folder as the image runs them (NODE_ENV=production, its ENV, no sources, production dependencies only):
 * `npm run migrate`, `npm start` until /readyz is 200 (and the HEALTHCHECK command passes), `npm run keys -- list`.
 *
 * With a container engine (`docker info` answers) the image itself is built and started too; without one (here `docker` is a
 * client with no daemon) that test is skipped and says so.
 */
const ROOT = path.resolve(__dirname, '../..');
const BOOTSTRAP = 'dockerfile-test-admin-key-0000000001';
const backend = backends().find((b) => b.name === 'postgres') ?? backends()[0]!;

function engine(): { ok: true } | { ok: false; why: string } {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return { ok: false, why: `no docker command (${r.error.message})` };
  if (r.status !== 0) return { ok: false, why: `docker is only a client here, no daemon answers (${(r.stderr || r.stdout).trim().split('\n').pop()})` };
  return { ok: true };
}
const container = engine();
if (!container.ok) process.stderr.write(`note: dockerfile.test.ts: ${container.why}: the image is not built; its file set and commands are checked instead\n`);

describe(`Dockerfile carried out without a container engine (${backend.name})`, () => {
  const stages = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dockerfile-'));
  const built: Record<string, StageResult> = {};
  let runtime: StageResult;
  let t: TestDb;
  let env: Record<string, string>;

  beforeAll(async () => {
    for (const s of stages) {
      built[s.name] = carryOutStage(s, { context: ROOT, nodeModules: path.join(ROOT, 'node_modules'), built, dir: path.join(work, s.name) });
    }
    runtime = built[stages[stages.length - 1]!.name]!;
    t = await backend.open({ empty: true });
    env = {
      ...runtime.env,
      LOG_LEVEL: 'warn', // the scripts' stderr must stay empty
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      FACE_WORKERS: '1',
      SHUTDOWN_READINESS_DELAY_MS: '0',
      FACEMATCH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP,
      FACEMATCH_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      ...(t.url ? { DATABASE_URL: t.url } : {}),
    };
  }, 300_000);
  afterAll(async () => {
    await t?.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const npm = (args: string[], extra: Record<string, string> = {}) =>
    spawnSync('npm', ['run', '--silent', ...args], { cwd: runtime.dir, encoding: 'utf8', env: { ...process.env, ...env, ...extra }, timeout: 120_000 });

  it('builds from the build stage\'s files alone: service, scripts and console', () => {
    const build = built[stages[0]!.name]!;
    expect(build.log).toContain('npm run build: ran');
    for (const f of ['dist/src/main.js', 'dist/scripts/keys.js', 'dist/scripts/migrate.js', 'dist/console/index.html', 'dist/console/app.js']) {
      expect({ f, built: fs.existsSync(path.join(build.dir, f)) }).toEqual({ f, built: true });
    }
  });

  it('ships no sources and no dev dependencies in the runtime stage', () => {
    for (const f of ['src', 'scripts', 'console', 'node_modules/typescript', 'node_modules/jest', 'node_modules/preact']) {
      expect({ f, shipped: fs.existsSync(path.join(runtime.dir, f)) }).toEqual({ f, shipped: false });
    }
    expect(runtime.env.NODE_ENV).toBe('production');
    expect(runtime.user).toBe('node');
  });

  it('runs npm run migrate, then npm start to ready (HEALTHCHECK passing), then npm run keys -- list', async () => {
    const migrated = npm(['migrate']);
    expect({ status: migrated.status, stderr: migrated.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(migrated.stdout).applied.length).toBeGreaterThan(5);

    // As compose runs it: migrations done by the owner's one-shot step, the service only checks them.
    const svc = spawn('npm', ['start'], { cwd: runtime.dir, env: { ...process.env, ...env, MIGRATE_ON_START: 'false', LOG_LEVEL: 'info' }, detached: true });
    let out = '';
    svc.stdout.on('data', (d) => (out += d));
    svc.stderr.on('data', (d) => (out += d));
    // 'close': every holder of the output pipes is gone, the service process included (npm does not wait for it on SIGTERM).
    const closed = new Promise<void>((resolve) => svc.on('close', () => resolve()));
    try {
      let ready = false;
      for (let i = 0; i < 240 && !ready && svc.exitCode === null; i++) {
        ready = await fetch(`http://127.0.0.1:${env.PORT}/readyz`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 500));
      }
      expect({ ready, out: ready ? '' : out }).toEqual({ ready: true, out: '' });
      expect(out).toMatch(/"msg":"face engine ready"/);
      expect(out).not.toMatch(/building first/); // no sources in the image: npm start never builds
      const health = spawnSync('sh', ['-c', runtime.healthcheck!], { env: { ...process.env, ...env }, encoding: 'utf8' });
      expect(health.status).toBe(0);
      const console_ = await fetch(`http://127.0.0.1:${env.PORT}/`);
      expect(console_.status).toBe(200); // the console bundle is in the image
    } finally {
      // To the process group, as a terminal's Ctrl-C or a process manager would: npm does not pass SIGTERM on to its child
      // (which is why the image's CMD is node itself, not npm start), so the service must get it directly and drain.
      process.kill(-svc.pid!, 'SIGTERM');
    }
    await closed;
    expect(out).toMatch(/"msg":"stopped"/);

    const listed = npm(['keys', '--', 'list'], { MIGRATE_ON_START: 'false' });
    expect({ status: listed.status, stderr: listed.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(listed.stdout.trim().split('\n')[0]!)).toMatchObject({ roles: ['admin'], organization: '*' });
  }, 300_000);

  (container.ok ? it : it.skip)(`builds and starts the image with a container engine${container.ok ? '' : ` (skipped: ${container.why})`}`, () => {
    const tag = `facematch-dockerfile-test:${process.pid}`;
    const b = spawnSync('docker', ['build', '-t', tag, ROOT], { encoding: 'utf8', timeout: 1_800_000 });
    expect({ status: b.status, err: b.status ? b.stderr : '' }).toEqual({ status: 0, err: '' });
    const r = spawnSync('docker', ['run', '--rm', '-e', `FACEMATCH_BOOTSTRAP_ADMIN_KEY=${BOOTSTRAP}`, tag, 'npm', 'run', '--silent', 'keys', '--', 'list'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status).toBe(0);
    spawnSync('docker', ['rmi', tag]);
  }, 1_800_000);
});
