import fs from 'node:fs';
import path from 'node:path';

/** The lfw-dev data set's root (../shared/datasets/lfw-dev, or FACEMATCH_DATASETS/lfw-dev). */
export function lfwDevRoot(repoRoot: string): string {
  const root = path.join(process.env.FACEMATCH_DATASETS ?? path.resolve(repoRoot, '../shared/datasets'), 'lfw-dev');
  if (!fs.existsSync(root)) throw new Error(`${root} is absent (set FACEMATCH_DATASETS)`);
  return root;
}

/** The first n photos of lfw-deepfunneled, people in name order, each person's photos in name order (the enrol-bench selection). */
export function lfwPhotos(repoRoot: string, n: number): { person: string; file: string }[] {
  const root = path.join(lfwDevRoot(repoRoot), 'lfw-deepfunneled');
  const out: { person: string; file: string }[] = [];
  for (const person of fs.readdirSync(root).sort()) {
    for (const f of fs.readdirSync(path.join(root, person)).sort()) {
      if (out.length === n) return out;
      if (f.endsWith('.jpg')) out.push({ person, file: path.join(root, person, f) });
    }
  }
  return out;
}
