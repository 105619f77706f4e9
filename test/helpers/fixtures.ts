import fs from 'node:fs';
import path from 'node:path';

/** face-api's six group photos, brought by `npm ci` (never copied into the repository). */
export const SAMPLES_DIR = path.dirname(require.resolve('@vladmandic/face-api/package.json')) + '/demo';
export const sample = (n: 1 | 2 | 3 | 4 | 5 | 6) => fs.readFileSync(path.join(SAMPLES_DIR, `sample${n}.jpg`));

/**
 * The shared face data sets (../shared/datasets beside the project, or FACEMATCH_DATASETS). Returns null, after saying so,
 * when absent: dataset-backed tests then skip with that message.
 */
export function datasetDir(name: string): string | null {
  const root = process.env.FACEMATCH_DATASETS ?? path.resolve(__dirname, '../../../shared/datasets');
  const dir = path.join(root, name);
  if (!fs.existsSync(dir)) {
    process.stderr.write(`note: dataset ${dir} is absent; its tests are skipped (set FACEMATCH_DATASETS to the datasets folder).\n`);
    return null;
  }
  return dir;
}
