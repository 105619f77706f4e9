import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * How many CPUs this process may use: the smaller of the CPUs it may be scheduled on (os.availableParallelism: affinity,
 * cpuset) and its cgroup CPU quota (a container's `--cpus`, a Kubernetes CPU limit), rounded up. A container on a 32-core
 * host limited to 2 CPUs gets 2, not 32; one inference worker per usable CPU is then the default.
 *
 * cgroup v2: `cpu.max` ("<quota> <period>" or "max <period>") of the process's cgroup and of every ancestor up to the root
 * (the tightest wins). cgroup v1: `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1 = unlimited) of the cpu controller.
 * Missing or unreadable files mean no quota.
 */
export interface CpuBudget {
  cpus: number;
  /** Where the number came from, for the start-up log. */
  source: 'parallelism' | 'cgroup2' | 'cgroup1';
  /** CPUs granted by the quota (fractional), when there is one. */
  quota?: number;
}

export interface CpuBudgetSources {
  /** Mount point of the cgroup file system (default /sys/fs/cgroup). */
  cgroupRoot?: string;
  /** The process's cgroup membership file (default /proc/self/cgroup). */
  procSelfCgroup?: string;
  parallelism?: number;
}

const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
};

/** cgroup v2 quota in CPUs for the cgroup at `rel` (e.g. "/" in a container, "/system.slice/x.service" on a host). */
function cgroup2Quota(root: string, rel: string): number | null {
  let best: number | null = null;
  for (let dir = path.posix.normalize(`/${rel}`); ; dir = path.posix.dirname(dir)) {
    const [quota, period] = (read(path.join(root, dir, 'cpu.max')) ?? '').split(/\s+/);
    const q = Number(quota);
    const p = Number(period);
    if (quota !== 'max' && q > 0 && p > 0) best = Math.min(best ?? Infinity, q / p);
    if (dir === '/') return best;
  }
}

/** cgroup v1 quota in CPUs; `controllers` is the hierarchy's controller list ("cpu,cpuacct" or "cpu"). */
function cgroup1Quota(root: string, controllers: string, rel: string): number | null {
  const mounts = [...new Set([controllers, 'cpu,cpuacct', 'cpu'])].map((m) => path.join(root, m));
  // Inside a container the cgroup path from /proc/self/cgroup is often not mounted: its own cgroup is the mount's root.
  for (const dir of mounts.flatMap((m) => [path.join(m, rel), m])) {
    const quota = Number(read(path.join(dir, 'cpu.cfs_quota_us')));
    const period = Number(read(path.join(dir, 'cpu.cfs_period_us')));
    if (Number.isFinite(quota) && quota > 0 && period > 0) return quota / period;
    if (quota === -1) return null;
  }
  return null;
}

export function cpuBudget(src: CpuBudgetSources = {}): CpuBudget {
  const root = src.cgroupRoot ?? '/sys/fs/cgroup';
  const parallelism = Math.max(1, src.parallelism ?? os.availableParallelism());
  const lines = (read(src.procSelfCgroup ?? '/proc/self/cgroup') ?? '').split('\n');
  let found: { quota: number; source: CpuBudget['source'] } | null = null;
  for (const line of lines) {
    const [id, controllers = '', rel = '/'] = line.split(':');
    if (id === '0' && controllers === '') {
      const q = cgroup2Quota(root, rel);
      if (q !== null) found = { quota: q, source: 'cgroup2' };
    } else if (controllers.split(',').includes('cpu')) {
      const q = cgroup1Quota(root, controllers, rel);
      if (q !== null) found = { quota: q, source: 'cgroup1' };
    }
  }
  if (!found || Math.ceil(found.quota) >= parallelism) return { cpus: parallelism, source: 'parallelism', ...(found ? { quota: found.quota } : {}) };
  return { cpus: Math.max(1, Math.ceil(found.quota)), source: found.source, quota: found.quota };
}
