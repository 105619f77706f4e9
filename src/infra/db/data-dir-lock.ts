import fs from 'node:fs';
import path from 'node:path';

/** The lock file's name inside DATA_DIR; it holds the pid of the process that has the embedded database open. */
export const LOCK_FILE = 'facematch.lock';

function holderOf(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
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

/**
 * Takes the exclusive lock on an embedded data directory: PGlite is single-process, and two processes writing one directory
 * fork the audit chain and lose acknowledged writes. The lock file is created atomically (O_EXCL) with our pid; when it exists
 * and names a live process, opening is refused naming that pid; a lock whose process is gone (killed, crashed) is stale and
 * replaced. Released by `release()` (close) or, failing that, at process exit. Best effort against two processes replacing
 * the same stale lock in the same instant.
 */
export function lockDataDir(dir: string): { release(): void } {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = holderOf(file);
      if (holder !== null && isAlive(holder)) {
        throw new Error(
          `DATA_DIR ${dir} is in use by process ${holder}${holder === process.pid ? ' (this process)' : ''} (lock file ${file}). ` +
            'Stop that process first: the embedded database must not be opened by two processes.',
        );
      }
      fs.rmSync(file, { force: true });
      continue;
    }
    const release = () => {
      process.off('exit', release);
      if (holderOf(file) === process.pid) fs.rmSync(file, { force: true });
    };
    process.on('exit', release);
    return { release };
  }
  throw new Error(`DATA_DIR ${dir}: could not take the lock file ${file}.`);
}
