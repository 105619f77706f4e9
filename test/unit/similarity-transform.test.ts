import { warpAffine } from '../../src/platform/face/image-ops';
import { alignmentWarp, ARCFACE_112, fitSimilarity, fivePoints } from '../../src/platform/face/similarity-transform';

const apply = (m: readonly number[], p: { x: number; y: number }) => ({ x: m[0]! * p.x + m[1]! * p.y + m[2]!, y: m[3]! * p.x + m[4]! * p.y + m[5]! });

describe('5-point similarity alignment', () => {
  it('recovers a known rotation, scale and shift exactly', () => {
    const angle = 0.3;
    const k = 2.5;
    const [a, b] = [k * Math.cos(angle), k * Math.sin(angle)];
    const src = ARCFACE_112.map((p) => ({ x: p.x, y: p.y }));
    const dst = src.map((p) => ({ x: a * p.x - b * p.y + 40, y: b * p.x + a * p.y - 7 }));
    const [fa, fb, tx, ty] = fitSimilarity(src, dst);
    expect([fa, fb, tx, ty].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([a, b, 40, -7].map((v) => Math.round(v * 1e6) / 1e6));
  });

  it('samples the chip so the face’s eyes, nose and mouth land on the ArcFace template', () => {
    // A face in image space: the template scaled 3x, rotated 20°, shifted.
    const r = (20 * Math.PI) / 180;
    const face = ARCFACE_112.map((p) => ({ x: 3 * (p.x * Math.cos(r) - p.y * Math.sin(r)) + 500, y: 3 * (p.x * Math.sin(r) + p.y * Math.cos(r)) + 200 }));
    const m = alignmentWarp(face, ARCFACE_112);
    ARCFACE_112.forEach((t, i) => {
      const p = apply(m, t);
      expect(Math.hypot(p.x - face[i]!.x, p.y - face[i]!.y)).toBeLessThan(1e-6);
    });
  });

  it('takes eye centres, nose tip and mouth corners from the 68-point layout', () => {
    const lm = Array.from({ length: 68 }, (_, i) => ({ x: i, y: 2 * i }));
    expect(fivePoints(lm)).toEqual([{ x: 38.5, y: 77 }, { x: 44.5, y: 89 }, { x: 30, y: 60 }, { x: 48, y: 96 }, { x: 54, y: 108 }]);
    // A detector's own five points are already in this order.
    expect(fivePoints(fivePoints(lm))).toEqual(fivePoints(lm));
  });

  it('warps with bilinear sampling and fills outside the image', () => {
    const src = { width: 2, height: 1, data: Uint8Array.from([0, 0, 0, 200, 100, 50]) };
    const out = warpAffine(src, [0.5, 0, 0, 0, 1, 0], 3, 2, 7);
    // x = 0, 0.5, 1 on row 0; row 1 is outside (fill 7) except where bilinear weights are 0.
    expect(Array.from(out.slice(0, 9))).toEqual([0, 0, 0, 100, 50, 25, 200, 100, 50]);
    expect(Array.from(out.slice(9, 12))).toEqual([7, 7, 7]);
  });
});
