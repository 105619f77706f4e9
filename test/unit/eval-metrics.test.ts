import {
  accuracyAt,
  bestThreshold,
  descending,
  identificationMetrics,
  tarAtFars,
  thresholdAtFar,
} from '../../scripts/lib/eval-metrics';

describe('verification metrics', () => {
  it('counts a pair with a failed image as an error whatever its label', () => {
    const pairs = [
      { score: 0.9, same: true },
      { score: 0.2, same: false },
      { score: null, same: true },
      { score: null, same: false },
    ];
    expect(accuracyAt(pairs, 0.5)).toBe(0.5);
  });

  it('picks the threshold that separates the classes best, between neighbouring scores', () => {
    const pairs = [
      { score: 0.1, same: false },
      { score: 0.3, same: false },
      { score: 0.6, same: true },
      { score: 0.4, same: true },
      { score: 0.5, same: false },
    ];
    const best = bestThreshold(pairs);
    expect(best.accuracy).toBeCloseTo(4 / 5);
    expect(accuracyAt(pairs, best.threshold)).toBeCloseTo(best.accuracy);
  });

  it('accepts at most floor(FAR x impostors) impostors at the FAR threshold, and says null when FAR cannot be resolved', () => {
    const impostors = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const desc = descending(impostors);
    const t = thresholdAtFar(desc, impostors.length, 1e-2)!;
    expect(impostors.filter((s) => s >= t)).toHaveLength(10);
    expect(thresholdAtFar(desc, impostors.length, 1e-3)).not.toBeNull();
    expect(thresholdAtFar(desc, impostors.length, 1e-4)).toBeNull();
  });

  it('counts genuine pairs with a failed image as rejected in TAR, and failed impostor pairs in the FAR denominator', () => {
    const impostors: (number | null)[] = [...Array.from({ length: 99 }, (_, i) => i / 200), null];
    const genuine = [0.9, 0.8, null, 0.1];
    const { tar, threshold } = tarAtFars(genuine, impostors);
    // 100 impostor comparisons (one failed) at FAR 1e-2: exactly one impostor, the highest (0.49), is accepted.
    expect(impostors.filter((s) => s !== null && s >= threshold['1e-2']!)).toEqual([98 / 200]);
    expect(tar['1e-2']).toBe(0.5);
    expect(tar['1e-3']).toBeNull();
  });
});

describe('identification metrics', () => {
  it('reports rank-k over all probes and FNIR at the threshold that lets through the FPIR share of non-mated searches', () => {
    const searches = [
      { mateScore: 0.9, mateRank: 1, nonMateTop: 0.5 },
      { mateScore: 0.7, mateRank: 2, nonMateTop: 0.8 },
      { mateScore: null, mateRank: null, nonMateTop: null },
      ...Array.from({ length: 97 }, (_, i) => ({ mateScore: 0.6 + i / 1000, mateRank: 1, nonMateTop: 0.4 + i / 1000 })),
    ];
    const m = identificationMetrics(searches);
    expect(m.rank1).toBeCloseTo(98 / 100);
    expect(m.rank5).toBeCloseTo(99 / 100);
    // FPIR 1e-2 over 100 searches lets one non-mated top score through (the 0.8), so the threshold sits just above 0.5:
    // the 98 rank-1 mates all score ≥ 0.6 and are hits; the rank-2 mate and the failed probe are misses.
    expect(m.fnirAtFpir['1e-2']).toBeCloseTo(2 / 100);
    expect(m.fnirAtFpir['1e-3']).toBeNull();
  });
});
