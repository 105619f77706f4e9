import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openDb } from '../../src/platform/db/open';

/**
 * One process per embedded data directory: a second opener (another service, or `keys` / `audit:anchor` / `reembed`) is refused
 * with the holder's pid, and a lock left by a killed process does not block the next start.
 */
const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const HOLDER = path.join(ROOT, 'test/helpers/hold-data-dir.ts');

/** The holder runs in node itself (not under the tsx CLI, which would fork a grandchild that SIGKILL leaves running). */
function holdInChild(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      if (/open \d+\n/.test(out)) {
        expect(out).toBe(`open ${child.pid}\n`);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
}

describe('DATA_DIR lock (embedded database)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a second process with a message naming the holder pid, and opens again after the holder released it', async () => {
    const db = await openDb({ dataDir: dir });
    const refused = await run(TSX, [HOLDER, dir], { cwd: ROOT }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain(`in use by process ${process.pid}`);
    expect(refused?.stderr).toContain(dir);
    await db.close();
    expect(fs.existsSync(path.join(dir, 'facematch.lock'))).toBe(false);
    const again = await openDb({ dataDir: dir });
    await again.close();
  });

  it('refuses audit:anchor while a service holds the directory, so no anchor can contradict the chain', async () => {
    const db = await openDb({ dataDir: dir });
    try {
      const { DATABASE_URL: _omit, ...env } = process.env;
      const r = await run(TSX, ['scripts/audit-anchor.ts'], { cwd: ROOT, env: { ...env, DATA_DIR: dir, LOG_LEVEL: 'silent' } })
        .then(() => null, (e: { code: number; stderr: string }) => e);
      expect(r?.code).toBe(1);
      expect(r?.stderr).toContain(`in use by process ${process.pid}`);
      expect((await db.query('SELECT 1 FROM pg_tables WHERE tablename = $1', ['audit_anchor'])).rowCount).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('is not blocked by a stale lock left by a killed process', async () => {
    const child = await holdInChild(dir);
    await expect(openDb({ dataDir: dir })).rejects.toThrow(`in use by process ${child.pid}`);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(fs.existsSync(path.join(dir, 'facematch.lock'))).toBe(true);
    const db = await openDb({ dataDir: dir });
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    await db.close();
  });

  // A container's process is pid 1 on every start, in a new pid namespace: the lock a killed pid 1 left must not refuse the
  // next pid 1 (issue 27 #2), while a live pid 1 of another namespace (a second container on the volume) still refuses.
  const pidNamespace = canUnsharePid();
  const nsIt = pidNamespace.ok ? it : it.skip;
  const nsName = pidNamespace.ok ? '' : ` (skipped: ${pidNamespace.why})`;
  nsIt(`a restarted pid 1 in a new pid namespace takes over the lock a killed pid 1 left${nsName}`, async () => {
    const first = await holdInPidNamespace(dir);
    expect(first.pidInside).toBe(1);
    await stop(first.child);
    expect(fs.readFileSync(path.join(dir, 'facematch.lock'), 'utf8')).toMatch(/^1\s/);
    const second = await holdInPidNamespace(dir);
    expect(second.pidInside).toBe(1);
    await stop(second.child);
  }, 90_000);

  nsIt(`a live pid 1 in one pid namespace refuses a pid 1 in another${nsName}`, async () => {
    const first = await holdInPidNamespace(dir);
    try {
      await expect(holdInPidNamespace(dir)).rejects.toThrow('in use by process 1 ');
    } finally {
      await stop(first.child);
    }
  }, 90_000);
});

function stop(child: ChildProcess): Promise<unknown> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  return exited;
}

function canUnsharePid(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: 'not Linux' };
  try {
    const out = execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', 'echo $$'], { stdio: ['ignore', 'pipe', 'pipe'] });
    return out.toString().trim() === '1' ? { ok: true } : { ok: false, why: 'unshare did not give pid 1' };
  } catch (e) {
    return { ok: false, why: `unshare --pid --fork --mount-proc failed (${(e as Error).message.split('\n')[0]}); needs root or CAP_SYS_ADMIN` };
  }
}

/**
 * The holder as pid 1 of a new pid namespace, as under the Dockerfile's CMD. `--kill-child` makes SIGKILL to unshare kill
 * the namespace's pid 1 too (no graceful release: the lock file stays). Rejects with the holder's stderr when refused.
 */
function holdInPidNamespace(dir: string): Promise<{ child: ChildProcess; pidInside: number }> {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', process.execPath, '--import', 'tsx', HOLDER, dir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (c) => (err += c));
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /open (\d+)\n/.exec(out);
      if (m) resolve({ child, pidInside: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`holder in pid namespace exited ${code}: ${err.trim()}`)));
  });
}
