import { buildCalibrationTable, createCalibration } from '../../src/shared/calibration';
import { createCalibrationStore } from '../../src/platform/face/calibration.store';
import { readManifest } from '../../src/platform/face/model-manifest';

/** Deterministic "impostor scores": a smooth spread in (0.3, 0.9). */
function impostors(n: number): number[] {
  let s = 12345;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    return 0.3 + 0.6 * u * u;
  });
}

describe('calibration table', () => {
  const scores = impostors(100_000);
  const table = buildCalibrationTable(scores, 'test-model', 'synthetic');
  const cal = createCalibration(table);
  const observed = (t: number) => scores.filter((s) => s >= t).length / scores.length;

  it('is monotone: higher similarity never has a higher false-match rate', () => {
    for (let i = 1; i < table.points.length; i++) {
      expect(table.points[i]!.similarity).toBeGreaterThan(table.points[i - 1]!.similarity);
      expect(table.points[i]!.fmr).toBeLessThanOrEqual(table.points[i - 1]!.fmr);
    }
    expect(cal.floor).toBe(1 / 100_000);
  });

  it.each([1e-1, 1e-2, 1e-3, 1e-4])('turns a target FMR of %p into a threshold whose observed FMR is within 2x of it', (target) => {
    const t = cal.thresholdFor(target);
    const o = observed(t);
    expect(o).toBeLessThanOrEqual(target * 1.0001);
    expect(o).toBeGreaterThanOrEqual(target / 2);
    expect(cal.fmrAt(t)).toBeLessThanOrEqual(target * 1.0001);
  });

  it('never estimates below what the impostor count resolves, and refuses a target below it', () => {
    expect(cal.fmrAt(1)).toBe(1 / 100_000);
    expect(() => cal.thresholdFor(1e-6)).toThrow(/below what/);
  });

  it('ships a table for the configured model that resolves the default screening and verify FMR (1e-4)', () => {
    const shipped = createCalibrationStore()(readManifest().id);
    expect(shipped.table.impostorPairs).toBeGreaterThanOrEqual(100_000);
    const t = shipped.thresholdFor(1e-4);
    expect(t).toBeGreaterThan(shipped.thresholdFor(1e-2));
    expect(shipped.fmrAt(t)).toBeLessThanOrEqual(1e-4);
  });

  it('refuses a model that has no table rather than serving uncalibrated scores', () => {
    expect(() => createCalibrationStore()('no-such-model@0')).toThrow(/no calibration table/);
  });
});
