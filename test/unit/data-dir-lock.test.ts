import { formatHolder, judge, parseHolder, startTimeOf, type LockHolder, type ProcessView } from '../../src/platform/db/data-dir-lock';

/** The stale/live rule of the DATA_DIR lock, without processes: pid reuse (container restart, busy host) must not block a start. */
const BOOT = '2a924ae0-e6df-483c-b2b0-4824e1fc0d5b';
const NS = '4026531836';
const self: LockHolder = { pid: 1, boot: BOOT, start: '5000', ns: NS };

function view(over: Partial<ProcessView> & { running?: Record<number, string> } = {}): ProcessView {
  const running = over.running ?? { 1: '5000' };
  return { self, alive: (pid) => pid in running, startOf: (pid) => running[pid] ?? null, heldHere: false, ...over };
}
const holder = (h: Partial<LockHolder>): LockHolder => ({ pid: 77, boot: BOOT, start: '300', ns: NS, ...h });

describe('DATA_DIR lock: is the holder still there?', () => {
  it('a lock naming our own pid from an earlier process in our namespace (pid 1 again) is stale', () => {
    expect(judge(holder({ pid: 1, start: '4200' }), view())).toBe('stale');
  });

  it('a lock this very process took is live: a second open in one process is refused', () => {
    expect(judge({ ...self }, view())).toBe('live');
    expect(judge(holder({ pid: 1, boot: null, start: null, ns: null }), view({ heldHere: true }))).toBe('live');
  });

  it('a lock of another live process that started at the recorded time is live', () => {
    expect(judge(holder({}), view({ running: { 1: '5000', 77: '300' } }))).toBe('live');
  });

  it('a lock whose pid now belongs to a process that started later (pid reuse) is stale', () => {
    expect(judge(holder({}), view({ running: { 1: '5000', 77: '9000' } }))).toBe('stale');
  });

  it('a lock whose process is gone is stale', () => {
    expect(judge(holder({}), view())).toBe('stale');
  });

  it('a lock written in a previous boot is stale even when its pid runs now', () => {
    expect(judge(holder({ boot: 'another-boot' }), view({ running: { 1: '5000', 77: '300' } }))).toBe('stale');
  });

  it('a lock from another pid namespace (restarted container, or a second container on the volume) is left to the heartbeat', () => {
    expect(judge(holder({ pid: 1, start: '4200', ns: '4026532174' }), view())).toBe('unknown');
    expect(judge(holder({ pid: 1, start: '5000', ns: '4026532174' }), view())).toBe('unknown');
    expect(judge(holder({ ns: '4026532174' }), view({ running: { 1: '5000', 77: '300' } }))).toBe('unknown');
  });

  it('an old pid-only lock: our own pid is left to the heartbeat, another live pid is kept as before', () => {
    expect(judge(holder({ pid: 1, boot: null, start: null, ns: null }), view())).toBe('unknown');
    expect(judge(holder({ boot: null, start: null, ns: null }), view({ running: { 1: '5000', 77: '1' } }))).toBe('live');
    expect(judge(holder({ boot: null, start: null, ns: null }), view())).toBe('unknown');
  });

  it('reads what it writes, and the old pid-only file', () => {
    expect(parseHolder(formatHolder(self))).toEqual(self);
    const bare = { pid: 9, boot: null, start: null, ns: null };
    expect(parseHolder(formatHolder(bare))).toEqual(bare);
    expect(parseHolder('4242\n')).toEqual({ pid: 4242, boot: null, start: null, ns: null });
    expect(parseHolder('garbage')).toBeNull();
    expect(parseHolder(null)).toBeNull();
  });

  (process.platform === 'linux' ? it : it.skip)('reads a process start time from /proc (Linux)', () => {
    expect(startTimeOf(process.pid)).toMatch(/^\d+$/);
    expect(startTimeOf(2 ** 22 + 12345)).toBeNull();
  });
});
