import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { cpuBudget } from '../../src/platform/face/cpu-budget';

/** A fake cgroup file system: `files` relative to the cgroup root, plus the process's /proc/self/cgroup text. */
const made: string[] = [];
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function fakeCgroup(procSelfCgroup: string, files: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cgroup-'));
  made.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'fs', rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'fs', rel), `${text}\n`);
  }
  fs.writeFileSync(path.join(dir, 'cgroup'), procSelfCgroup);
  return { cgroupRoot: path.join(dir, 'fs'), procSelfCgroup: path.join(dir, 'cgroup') };
}

describe('CPU budget for inference workers', () => {
  it('takes a cgroup v2 quota of 2 CPUs on a 32-CPU host', () => {
    const src = fakeCgroup('0::/\n', { 'cpu.max': '200000 100000' });
    expect(cpuBudget({ ...src, parallelism: 32 })).toEqual({ cpus: 2, source: 'cgroup2', quota: 2 });
  });

  it('rounds a fractional quota up (1.5 CPUs → 2 workers) and never goes below 1', () => {
    expect(cpuBudget({ ...fakeCgroup('0::/\n', { 'cpu.max': '150000 100000' }), parallelism: 8 }).cpus).toBe(2);
    expect(cpuBudget({ ...fakeCgroup('0::/\n', { 'cpu.max': '10000 100000' }), parallelism: 8 }).cpus).toBe(1);
  });

  it('uses the tightest cpu.max on the path from the process cgroup to the root', () => {
    const src = fakeCgroup('0::/kubepods/pod1/ctr\n', {
      'cpu.max': 'max 100000',
      'kubepods/cpu.max': '800000 100000',
      'kubepods/pod1/cpu.max': '300000 100000',
      'kubepods/pod1/ctr/cpu.max': 'max 100000',
    });
    expect(cpuBudget({ ...src, parallelism: 16 })).toEqual({ cpus: 3, source: 'cgroup2', quota: 3 });
  });

  it('uses all schedulable CPUs when cpu.max says max or there is no cgroup file', () => {
    expect(cpuBudget({ ...fakeCgroup('0::/\n', { 'cpu.max': 'max 100000' }), parallelism: 6 })).toEqual({ cpus: 6, source: 'parallelism' });
    expect(cpuBudget({ ...fakeCgroup('', {}), parallelism: 6 })).toEqual({ cpus: 6, source: 'parallelism' });
  });

  it('keeps the schedulable CPUs when they are fewer than the quota (a cpuset of 2 with a quota of 4)', () => {
    expect(cpuBudget({ ...fakeCgroup('0::/\n', { 'cpu.max': '400000 100000' }), parallelism: 2 })).toEqual({ cpus: 2, source: 'parallelism', quota: 4 });
  });

  it('reads a cgroup v1 CFS quota (cpu,cpuacct hierarchy, container-style mount) and treats -1 as unlimited', () => {
    const v1 = '4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n';
    const limited = fakeCgroup(v1, { 'cpu,cpuacct/cpu.cfs_quota_us': '150000', 'cpu,cpuacct/cpu.cfs_period_us': '50000' });
    expect(cpuBudget({ ...limited, parallelism: 64 })).toEqual({ cpus: 3, source: 'cgroup1', quota: 3 });
    const unlimited = fakeCgroup(v1, { 'cpu,cpuacct/cpu.cfs_quota_us': '-1', 'cpu,cpuacct/cpu.cfs_period_us': '100000' });
    expect(cpuBudget({ ...unlimited, parallelism: 64 }).cpus).toBe(64);
  });

  it('makes FACE_WORKERS default to the budget of this machine, and an explicit FACE_WORKERS wins', () => {
    expect(loadConfig({}).face.workers).toBe(Math.min(64, cpuBudget().cpus));
    expect(loadConfig({ FACE_WORKERS: '3' }).face.workers).toBe(3);
  });
});
