import { finishDescriptor } from '../../src/platform/face/descriptor';

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('finishDescriptor (raw descriptors → template)', () => {
  it('averages the flips, subtracts the centre, and returns a unit vector', () => {
    const t = finishDescriptor([[3, 1, 1], [1, 3, 1]], [1, 1, 1]);
    expect(t).toEqual([1 / Math.sqrt(2), 1 / Math.sqrt(2), 0]);
  });

  it('without a centre it is the normalised mean (face-api templates stay as they were)', () => {
    const t = finishDescriptor([[3, 4]], null);
    expect(t[0]).toBeCloseTo(0.6, 12);
    expect(t[1]).toBeCloseTo(0.8, 12);
  });

  it('centring removes the shared positive offset that makes raw ReLU descriptors look alike', () => {
    // Two different "faces" sharing a large common component (what non-negative pooled features have).
    const common = [5, 5, 5, 5];
    const a = [6, 4, 5, 5];
    const b = [4, 6, 5, 5];
    expect(dot(finishDescriptor([a], null), finishDescriptor([b], null))).toBeGreaterThan(0.9);
    expect(dot(finishDescriptor([a], common), finishDescriptor([b], common))).toBeCloseTo(-1, 12);
  });
});
