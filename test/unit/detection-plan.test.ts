import { DEFAULT_PLAN, nonMaxSuppression, planDetection, touchesInnerEdge } from '../../src/infra/face/detection-plan';

const opts = { ...DEFAULT_PLAN, inputWidth: 320, inputHeight: 240 };

describe('detection plan', () => {
  it('looks at a small image once, whole', () => {
    const plan = planDetection(250, 250, opts);
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ width: 240, height: 240, tiles: [{ x: 0, y: 0 }] });
  });

  it('tiles a 1920x1280 photo at doubling scales up to the scale where a 40 px face reaches the detector’s 20 px', () => {
    const plan = planDetection(1920, 1280, opts);
    expect(plan.map((l) => Math.round(l.scale * 1000) / 1000)).toEqual([0.167, 0.333, 0.5]);
    for (const level of plan.slice(1)) {
      // Tiles cover the level image edge to edge, neighbours overlapping by at least the configured fraction.
      const xs = [...new Set(level.tiles.map((t) => t.x))];
      const ys = [...new Set(level.tiles.map((t) => t.y))];
      expect(xs[0]).toBe(0);
      expect(xs[xs.length - 1]! + 320).toBe(level.width);
      expect(ys[ys.length - 1]! + 240).toBe(level.height);
      for (let i = 1; i < xs.length; i++) expect(xs[i - 1]! + 320 - xs[i]!).toBeGreaterThanOrEqual(320 * opts.overlap - 1);
    }
    expect(plan.reduce((n, l) => n + l.tiles.length, 0)).toBeLessThanOrEqual(opts.maxRuns);
  });

  it('stays within the run budget for extreme canvases (8000x300, 100000x1, 7000x7000)', () => {
    for (const [w, h] of [[8000, 300], [100000, 1], [7000, 7000]] as const) {
      const plan = planDetection(w, h, opts);
      expect(plan.reduce((n, l) => n + l.tiles.length, 0)).toBeLessThanOrEqual(opts.maxRuns);
      for (const l of plan) expect(l.width * l.height).toBeLessThanOrEqual(Math.max(w * h, 320 * 240));
    }
    // A one-pixel-high strip can hold no face: nothing beyond the whole-image look.
    expect(planDetection(100000, 1, opts)).toHaveLength(1);
  });

  it('merges duplicates across levels: overlapping boxes and a part inside a whole face keep the best-scored box', () => {
    const whole = { box: { x: 100, y: 100, width: 100, height: 120 }, score: 0.95 };
    const shifted = { box: { x: 105, y: 98, width: 98, height: 118 }, score: 0.9 };
    const part = { box: { x: 100, y: 100, width: 50, height: 60 }, score: 0.97 };
    const other = { box: { x: 400, y: 100, width: 90, height: 100 }, score: 0.8 };
    const kept = nonMaxSuppression([whole, shifted, part, other]);
    expect(kept).toEqual([part, other]);
    expect(nonMaxSuppression([whole, shifted, other])).toEqual([whole, other]);
  });

  it('drops a box cut by an inner tile edge, not one at the image border', () => {
    const level = { scale: 0.5, width: 960, height: 640, tiles: [] };
    const box = { x: 0, y: 50, width: 40, height: 40 };
    expect(touchesInnerEdge(box, { x: 0, y: 0 }, level, 320, 240)).toBe(false);
    expect(touchesInnerEdge(box, { x: 320, y: 0 }, level, 320, 240)).toBe(true);
    expect(touchesInnerEdge({ x: 290, y: 50, width: 30, height: 40 }, { x: 640, y: 0 }, level, 320, 240)).toBe(false);
  });
});
