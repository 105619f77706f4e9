/** Deterministic unit vectors for storage tests (a seeded LCG; the database sees ordinary 128-d embeddings). */
export function seededUnitVectors(count: number, dims: number, seed = 42): number[][] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  return Array.from({ length: count }, () => normalise(Array.from({ length: dims }, rnd)));
}

export function normalise(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A unit vector at a small angle from `v` (same direction plus a little noise). */
export function near(v: number[], noise: number, seed = 7): number[] {
  const [d] = seededUnitVectors(1, v.length, seed);
  return normalise(v.map((x, i) => x + noise * d![i]!));
}
