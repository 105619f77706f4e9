import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { isAlive } from '../../src/platform/db/data-dir-lock';

/**
 * A throw-away PostgreSQL primary and a streaming hot standby of it (and an unrelated third cluster), each its own cluster on a free port under a temp folder
 * (the machine's own cluster is never touched). Built from the server binaries of the newest PostgreSQL installed with
 * pgvector: initdb, pg_ctl, pg_basebackup -R. Run as the `postgres` user when the tests run as root (initdb refuses root).
 *
 * A run that was killed leaves its folder and possibly running servers: every start first stops and removes the folders of
 * runs whose process is gone (each folder records its owner's pid), never those of a run still alive.
 */
const PREFIX = 'facematch-replica-';
const CLUSTERS = ['standby', 'primary', 'other'];

export interface ReplicaPair {
  primaryUrl: string;
  replicaUrl: string;
  /** A third cluster, initdb'd on its own: a primary that the standby does not follow. */
  otherUrl: string;
  /** Superuser connections for the test's own checks (replay pause/resume, pg_stat_statements). */
  primaryAdmin(): Promise<pg.Client>;
  replicaAdmin(): Promise<pg.Client>;
  stopReplica(): void;
  startReplica(): void;
  /** Resolves once the standby has replayed everything the primary had written when it was called. */
  waitReplayed(timeoutMs?: number): Promise<void>;
  destroy(): void;
}

/** The bin folder of the newest installed PostgreSQL that has pgvector, or null (with the reason) when there is none. */
export function findPostgresBin(): { bin: string } | { missing: string } {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    const tools = ['initdb', 'pg_ctl', 'pg_basebackup', 'postgres'];
    if (tools.every((t) => fs.existsSync(path.join(bin, t))) && fs.existsSync(`/usr/share/postgresql/${v}/extension/vector.control`)) return { bin };
  }
  return { missing: `no PostgreSQL server binaries with pgvector under ${root} (initdb, pg_ctl, pg_basebackup; /usr/share/postgresql/<v>/extension/vector.control)` };
}

const asRoot = process.getuid?.() === 0;
/** Run as root, the clusters belong to `postgres`, which must reach the folder: /tmp, whatever TMPDIR says. */
const tmpRoot = asRoot ? '/tmp' : os.tmpdir();

function run(bin: string, tool: string, args: string[]): string {
  const cmd = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]] as const : [path.join(bin, tool), args] as const;
  // From a folder the postgres user can enter (the checkout may be under /root).
  return execFileSync(cmd[0], [...cmd[1]], { cwd: tmpRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function stopCluster(bin: string, dataDir: string, mode: 'fast' | 'immediate') {
  if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  try {
    run(bin, 'pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']);
  } catch {
    // Already stopped (a stale pid file): nothing to do.
  }
}

function removeLeftovers(bin: string) {
  for (const name of fs.readdirSync(tmpRoot).filter((n) => n.startsWith(PREFIX))) {
    const dir = path.join(tmpRoot, name);
    const owner = Number(fs.readFileSync(path.join(dir, 'owner.pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
    if (owner && isAlive(owner)) continue;
    for (const c of CLUSTERS) stopCluster(bin, path.join(dir, c), 'immediate');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A TCP port nothing listens on right now (the kernel's choice). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const lsn = (t: string) => {
  const [hi, lo] = t.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

export async function startReplicaPair(bin: string): Promise<ReplicaPair> {
  removeLeftovers(bin);
  const dir = fs.mkdtempSync(path.join(tmpRoot, PREFIX));
  fs.writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const primaryDir = path.join(dir, 'primary');
  const standbyDir = path.join(dir, 'standby');
  const otherDir = path.join(dir, 'other');
  const [primaryPort, replicaPort, otherPort] = [await freePort(), await freePort(), await freePort()];
  const settings = (port: number) =>
    [
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      // Sockets in the test folder: nothing is created beside the machine's own cluster's socket.
      `unix_socket_directories = '${dir}'`,
      'wal_level = replica',
      'max_wal_senders = 4',
      'hot_standby = on',
      'max_connections = 60',
      'shared_buffers = 32MB',
      'fsync = off',
      `shared_preload_libraries = 'pg_stat_statements'`,
      'pg_stat_statements.track = all',
    ].join('\n') + '\n';

  try {
    run(bin, 'initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    fs.appendFileSync(path.join(primaryDir, 'postgresql.conf'), settings(primaryPort));
    fs.appendFileSync(path.join(primaryDir, 'pg_hba.conf'), 'host replication postgres 127.0.0.1/32 trust\n');
    run(bin, 'pg_ctl', ['-D', primaryDir, '-l', path.join(dir, 'primary.log'), '-w', 'start']);
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${primaryPort}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE facematch');
    await admin.end();
    const db = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${primaryPort}/facematch` });
    await db.connect();
    // Created on the primary, replayed by the standby (which cannot run DDL).
    await db.query('CREATE EXTENSION vector; CREATE EXTENSION pg_stat_statements');
    await db.end();
    // The standby: a base backup with -R (standby.signal and primary_conninfo), then its own port.
    run(bin, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', standbyDir, '-R', '-X', 'stream', '--checkpoint=fast']);
    fs.appendFileSync(path.join(standbyDir, 'postgresql.conf'), `port = ${replicaPort}\n`);
    run(bin, 'pg_ctl', ['-D', standbyDir, '-l', path.join(dir, 'standby.log'), '-w', 'start']);
    run(bin, 'initdb', ['-D', otherDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    fs.appendFileSync(path.join(otherDir, 'postgresql.conf'), settings(otherPort));
    run(bin, 'pg_ctl', ['-D', otherDir, '-l', path.join(dir, 'other.log'), '-w', 'start']);
  } catch (e) {
    for (const c of CLUSTERS) stopCluster(bin, path.join(dir, c), 'immediate');
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const url = (port: number) => `postgres://postgres@127.0.0.1:${port}/facematch`;
  const client = async (port: number) => {
    const c = new pg.Client({ connectionString: url(port) });
    // A test that stops a server ends its clients first; an error after that (a server going away) is not the test's concern.
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  return {
    primaryUrl: url(primaryPort),
    replicaUrl: url(replicaPort),
    otherUrl: `postgres://postgres@127.0.0.1:${otherPort}/postgres`,
    primaryAdmin: () => client(primaryPort),
    replicaAdmin: () => client(replicaPort),
    stopReplica: () => stopCluster(bin, standbyDir, 'fast'),
    startReplica: () => void run(bin, 'pg_ctl', ['-D', standbyDir, '-l', path.join(dir, 'standby.log'), '-w', 'start']),
    async waitReplayed(timeoutMs = 60_000) {
      const p = await client(primaryPort);
      const r = await client(replicaPort);
      try {
        const target = lsn((await p.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l);
        const until = Date.now() + timeoutMs;
        for (;;) {
          const replayed = (await r.query('SELECT pg_last_wal_replay_lsn()::text AS l')).rows[0].l as string | null;
          if (replayed && lsn(replayed) >= target) return;
          if (Date.now() > until) throw new Error(`the standby did not replay up to the primary's WAL position within ${timeoutMs} ms`);
          await new Promise((res) => setTimeout(res, 50));
        }
      } finally {
        await p.end();
        await r.end();
      }
    },
    destroy() {
      for (const c of CLUSTERS) stopCluster(bin, path.join(dir, c), 'fast');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A throw-away PostgreSQL cluster of its own that checks passwords (scram-sha-256 over TCP, unlike the machine's cluster,
 * which trusts local connections): superuser `postgres` with `password`, a database `facematch` with pgvector.
 * `url(password)` builds a connection string with the password percent-encoded (or as given, with `raw`).
 */
export async function startPasswordCluster(bin: string, password: string): Promise<{ port: number; url(pw: string, raw?: boolean): string; destroy(): void }> {
  removeLeftovers(bin);
  const dir = fs.mkdtempSync(path.join(tmpRoot, PREFIX));
  fs.writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  fs.writeFileSync(path.join(dir, 'pw'), `${password}\n`);
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const dataDir = path.join(dir, 'primary');
  const port = await freePort();
  try {
    run(bin, 'initdb', ['-D', dataDir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${path.join(dir, 'pw')}`, '-E', 'UTF8', '--no-sync']);
    fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `port = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nfsync = off\nshared_buffers = 32MB\n`);
    run(bin, 'pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'primary.log'), '-w', 'start']);
    run(bin, 'psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-qc', 'CREATE DATABASE facematch']);
    run(bin, 'psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'facematch', '-qc', 'CREATE EXTENSION vector']);
  } catch (e) {
    stopCluster(bin, dataDir, 'immediate');
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    url: (pw, raw = false) => `postgres://postgres:${raw ? pw : encodeURIComponent(pw)}@127.0.0.1:${port}/facematch`,
    destroy() {
      stopCluster(bin, dataDir, 'fast');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
