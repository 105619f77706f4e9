/**
 * A template from the embedder's raw descriptors of a chip (one, or two with flip TTA): their mean, minus the model's centre
 * when it has one, L2-normalised. The evaluation harness applies this same function to the raw descriptors it caches.
 */
export function finishDescriptor(raws: ArrayLike<number>[], centre: ArrayLike<number> | null): number[] {
  const n = raws[0]!.length;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const r of raws) s += r[i]!;
    out[i] = s / raws.length - (centre ? centre[i]! : 0);
  }
  const norm = Math.hypot(...out) || 1;
  return out.map((x) => x / norm);
}
