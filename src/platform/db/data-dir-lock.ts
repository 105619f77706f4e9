import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The lock file's name inside DATA_DIR. It holds `<pid> <boot id> <start time> <pid namespace>` of the process that has the
 * embedded database open (older versions wrote the pid alone; such a file is still read). While open, the holder touches the
 * file every HEARTBEAT_MS.
 */
export const LOCK_FILE = 'facematch.lock';
export const HEARTBEAT_MS = 2_000;
/** How long a lock of a process we cannot see (another pid namespace) must stay untouched before it counts as stale. */
export const STALE_AFTER_MS = 15_000;

/**
 * Who holds (or held) a lock. `boot` is the kernel's boot id (/proc/sys/kernel/random/boot_id), `start` the process start
 * time in clock ticks since boot (/proc/<pid>/stat field 22) and `ns` the pid namespace (readlink /proc/self/ns/pid); each is
 * null where /proc does not give it (not Linux) or the file predates it.
 */
export interface LockHolder {
  pid: number;
  boot: string | null;
  start: string | null;
  ns: string | null;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function bootId(): string | null {
  return readText('/proc/sys/kernel/random/boot_id')?.trim() || null;
}

function pidNamespace(): string | null {
  try {
    return /^pid:\[(\d+)\]$/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) is parenthesised and may hold spaces, so split after its `)`. */
export function startTimeOf(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return null;
  // After ") " comes field 3 (state), so field 22 is index 19.
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  return start && /^\d+$/.test(start) ? start : null;
}

export function parseHolder(text: string | null): LockHolder | null {
  if (text === null) return null;
  const [pidText, boot, start, ns] = text.trim().split(/\s+/);
  const pid = Number.parseInt(pidText ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || String(pid) !== pidText) return null;
  const known = (v: string | undefined) => (v && v !== '-' ? v : null);
  return { pid, boot: known(boot), start: known(start), ns: known(ns) };
}

export function formatHolder(h: LockHolder): string {
  return `${h.pid} ${h.boot ?? '-'} ${h.start ?? '-'} ${h.ns ?? '-'}\n`;
}

/** True while a process with this pid exists (also one of another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What the decision needs to know about the machine now; a parameter so the rule is testable without processes. */
export interface ProcessView {
  /** This process. */
  self: LockHolder;
  /** Whether some process has this pid now (in our pid namespace). */
  alive(pid: number): boolean;
  /** Start time of the process with this pid now, null when unknown. */
  startOf(pid: number): string | null;
  /** This process already holds the lock on this file (a second open in the same process). */
  heldHere: boolean;
}

/**
 * Whether a lock file's holder still has the directory open, from what pids can tell:
 * - `live` / `stale` when the holder ran in our pid namespace and boot: the pid must exist and have started at the recorded
 *   time (a pid alone is not enough: after a crash a container's process is pid 1 again, and a busy host reuses pids);
 * - `stale` when it was written in another boot (every process of that boot is gone);
 * - `unknown` when the holder ran in another pid namespace (a restarted container gets a new one; so does a second container
 *   sharing the volume) or the file carries no namespace: pids say nothing there, the heartbeat decides (see lockDataDir).
 */
export function judge(holder: LockHolder, view: ProcessView): 'live' | 'stale' | 'unknown' {
  if (view.heldHere && holder.pid === view.self.pid) return 'live';
  if (holder.boot !== null && view.self.boot !== null && holder.boot !== view.self.boot) return 'stale';
  const sameNamespace = holder.ns !== null && holder.ns === view.self.ns;
  if (!sameNamespace) {
    // A pid-only file (older version) naming another live pid is kept, as that version did; our own pid is a restart.
    if (holder.ns === null && holder.start === null && holder.pid !== view.self.pid && view.alive(holder.pid)) return 'live';
    return 'unknown';
  }
  if (holder.pid === view.self.pid) return holder.start !== null && holder.start === view.self.start ? 'live' : 'stale';
  if (!view.alive(holder.pid)) return 'stale';
  const now = view.startOf(holder.pid);
  return holder.start !== null && now !== null && now !== holder.start ? 'stale' : 'live';
}

/** Lock files this process holds, so a second open in the same process is refused even without /proc. */
const heldHere = new Set<string>();

function mtimeOf(file: string): number | null {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/** A lock of a process we cannot see is live when the holder touched it within staleAfterMs (we wait that long to know). */
async function heartbeatSeen(file: string, text: string, staleAfterMs: number): Promise<boolean> {
  const before = mtimeOf(file);
  if (before === null) return false;
  await sleep(staleAfterMs);
  return readText(file) !== text || mtimeOf(file) !== before;
}

/**
 * Takes the exclusive lock on an embedded data directory: PGlite is single-process, and two processes writing one directory
 * fork the audit chain and lose acknowledged writes. The lock file is created atomically (O_EXCL) naming this process; while
 * held it is touched every HEARTBEAT_MS. An existing lock whose holder is live (see judge; for a holder in another pid
 * namespace: the file was touched within STALE_AFTER_MS, which this call waits to see) refuses the open naming its pid; a
 * stale one (killed, crashed, previous boot, pid reused, or no heartbeat) is replaced. Released by `release()` (close) or,
 * failing that, at process exit. Best effort against two processes replacing the same stale lock in the same instant.
 */
export async function lockDataDir(dir: string, opts: { staleAfterMs?: number } = {}): Promise<{ release(): void }> {
  const staleAfterMs = opts.staleAfterMs ?? STALE_AFTER_MS;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.resolve(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    const view: ProcessView = {
      self: { pid: process.pid, boot: bootId(), start: startTimeOf(process.pid), ns: pidNamespace() },
      alive: isAlive,
      startOf: startTimeOf,
      heldHere: heldHere.has(file),
    };
    const text = formatHolder(view.self);
    try {
      fs.writeFileSync(file, text, { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const found = readText(file);
      const holder = parseHolder(found);
      const verdict = holder === null ? 'stale' : judge(holder, view);
      if (holder !== null && (verdict === 'live' || (verdict === 'unknown' && (await heartbeatSeen(file, found!, staleAfterMs))))) {
        throw new Error(
          `DATA_DIR ${dir} is in use by process ${holder.pid}${verdict === 'live' && holder.pid === process.pid ? ' (this process)' : ''} ` +
            `(lock file ${file}). Stop that process first: the embedded database must not be opened by two processes.`,
        );
      }
      if (readText(file) === found) fs.rmSync(file, { force: true });
      continue;
    }
    heldHere.add(file);
    const beat = setInterval(() => {
      const t = new Date();
      try {
        fs.utimesSync(file, t, t);
      } catch {
        // Removed under us (operator): nothing to keep fresh; release() below still runs.
      }
    }, HEARTBEAT_MS);
    beat.unref();
    const release = () => {
      clearInterval(beat);
      process.off('exit', release);
      heldHere.delete(file);
      if (readText(file) === text) fs.rmSync(file, { force: true });
    };
    process.on('exit', release);
    return { release };
  }
  throw new Error(`DATA_DIR ${dir}: could not take the lock file ${file}.`);
}
