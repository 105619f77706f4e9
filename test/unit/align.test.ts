import { CHIP_PADDING, chipTransform, FIVE_POINT_BOX } from '../../src/platform/face/align';
import type { Point } from '../../src/platform/face/quality';

/** Where chip pixel (x, y) samples the image. */
const at = (m: number[], x: number, y: number): Point => ({ x: m[0]! * x + m[1]! * y + m[2]!, y: m[3]! * x + m[4]! * y + m[5]! });

describe('chip geometry from five points', () => {
  // Eyes level at y = 100, 60 px apart; mouth corners 60 px lower: d (eye midpoint to mouth midpoint) = 60.
  const five: Point[] = [{ x: 70, y: 100 }, { x: 130, y: 100 }, { x: 100, y: 130 }, { x: 80, y: 160 }, { x: 120, y: 160 }];
  const d = 60;

  it('frames the average 68-point box: side 2.13·d padded, centred 0.675·d below the eye midpoint', () => {
    const m = chipTransform(five, 150);
    const side = FIVE_POINT_BOX.side * d * (1 + 2 * CHIP_PADDING);
    expect(m[0]! * 150).toBeCloseTo(side, 6);
    const centre = at(m, 75, 75);
    expect(centre.x).toBeCloseTo(100, 6);
    expect(centre.y).toBeCloseTo(100 + FIVE_POINT_BOX.below * d, 6);
  });

  it('levels the eyes: a rolled face gives the same chip, rotated back', () => {
    const a = 0.3;
    const roll = (p: Point): Point => ({ x: 100 + (p.x - 100) * Math.cos(a) - (p.y - 100) * Math.sin(a), y: 100 + (p.x - 100) * Math.sin(a) + (p.y - 100) * Math.cos(a) });
    const [m, r] = [chipTransform(five, 150), chipTransform(five.map(roll), 150)];
    for (const [x, y] of [[0, 0], [150, 0], [75, 75], [10, 140]] as const) {
      const p = roll(at(m, x, y));
      const q = at(r, x, y);
      expect(q.x).toBeCloseTo(p.x, 6);
      expect(q.y).toBeCloseTo(p.y, 6);
    }
  });
});
