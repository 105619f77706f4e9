import { DEFAULT_PLAN, detectorRuns, nonMaxSuppression, planDetection, refineDetection, touchesInnerEdge } from '../../src/platform/face/detection-plan';

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

  it('looks at level 0 of a net that takes any input size in either orientation, never enlarged', () => {
    const any = { ...opts, inputWidth: 640, inputHeight: 480, anyInputSize: true };
    expect(planDetection(250, 250, any)[0]).toMatchObject({ scale: 1, width: 250, height: 250 });
    const portrait = planDetection(1382, 1868, any)[0]!;
    expect([portrait.width, portrait.height]).toEqual([473, 640]);
    expect(planDetection(1920, 1280, any)[0]).toMatchObject({ width: 640, height: 427 });
    // A fixed-size net's level 0 fits the input as given.
    expect(planDetection(1382, 1868, opts)[0]).toMatchObject({ width: 178, height: 240 });
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

  describe('coarse to fine: which finer levels and tiles run after the whole-image look', () => {
    const plan = planDetection(1920, 1280, opts);
    const everyTile = detectorRuns(plan.slice(1));
    const face = { x: 800, y: 300, width: 300, height: 380 };
    const refine = (detail: 'standard' | 'small-faces', faces: typeof face[], hints: typeof face[] = []) => refineDetection(plan, detail, { faces, hints }, 320, 240);

    it('runs nothing more on a photo whose faces the whole-image look found, with no hint of smaller ones', () => {
      expect(refine('standard', [face])).toEqual({ reason: 'none', levels: [] });
    });

    it('runs every finer level on every tile when the caller asks for small faces, whatever the whole-image look found', () => {
      for (const faces of [[], [face]]) {
        const r = refine('small-faces', faces);
        expect(r.reason).toBe('small-faces');
        expect(r.levels).toEqual(plan.slice(1));
      }
      expect(everyTile).toBeGreaterThan(10);
    });

    it('runs every finer level on every tile when the whole-image look found no face', () => {
      expect(refine('standard', [])).toEqual({ reason: 'nothing-found', levels: plan.slice(1) });
    });

    it('runs, at each finer level, only the tiles holding a hint of a face too small for the whole-image look', () => {
      const hint = { x: 1700, y: 1100, width: 40, height: 50 };
      const r = refine('standard', [face], [hint]);
      expect(r.reason).toBe('hints');
      expect(r.levels.map((l) => l.scale)).toEqual(plan.slice(1).map((l) => l.scale));
      for (const l of r.levels) {
        expect(l.tiles.length).toBeGreaterThanOrEqual(1);
        expect(l.tiles.length).toBeLessThanOrEqual(4);
        const cx = (hint.x + hint.width / 2) * l.scale;
        const cy = (hint.y + hint.height / 2) * l.scale;
        for (const t of l.tiles) expect([cx >= t.x && cx < t.x + 320, cy >= t.y && cy < t.y + 240]).toEqual([true, true]);
      }
      expect(detectorRuns(r.levels)).toBeLessThan(everyTile / 2);
    });

    it('ignores a hint that overlaps a found face (its own low-scored anchor)', () => {
      expect(refine('standard', [face], [{ x: 850, y: 320, width: 40, height: 50 }])).toEqual({ reason: 'none', levels: [] });
    });

    it('has nothing finer to run on an image the whole-image look sees at full resolution (an LFW crop)', () => {
      const small = planDetection(250, 250, opts);
      for (const detail of ['standard', 'small-faces'] as const) {
        expect(refineDetection(small, detail, { faces: [], hints: [] }, 320, 240)).toEqual({ reason: 'none', levels: [] });
      }
    });

    it('keeps the run budget on hostile canvases even when every tile runs', () => {
      for (const [w, h] of [[8000, 300], [7000, 7000]] as const) {
        const p = planDetection(w, h, opts);
        expect(1 + detectorRuns(refineDetection(p, 'small-faces', { faces: [], hints: [] }, 320, 240).levels)).toBeLessThanOrEqual(opts.maxRuns);
      }
    });
  });
});
