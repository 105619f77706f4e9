/**
 * How well a face survives federation's chip hand-over: a photo is analysed as a requester would (detection, its reviewer
 * crop), the crop is analysed as a partner would (`analyzeChips`: no detection, the model's own alignment inside the chip),
 * and the two templates of the same face are compared. Prints one JSON object: per pair the similarity ((1 + cos) / 2) and
 * the summary (min, median, mean), with the calibrated false-match rate at the median for scale (figures in
 * docs/federation.md).
 *
 *   npx tsx scripts/chip-embedding-check.ts [--dir ../shared/datasets/lfw-dev/lfw-deepfunneled] [--limit 100] [--model id]
 */
import fs from 'node:fs';
import path from 'node:path';
import { createInProcessFaceEngine } from '../src/platform/face/face-engine';
import { calibrationDirs, createCalibrationStore } from '../src/platform/face/calibration.store';
import { similarityFromCosineDistance } from '../src/shared/calibration';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};

function photos(dir: string, limit: number): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= limit) return;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(jpe?g|png)$/i.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

async function main() {
  const fallback = path.resolve(__dirname, '../node_modules/@vladmandic/face-api/demo');
  const wanted = path.resolve(arg('dir', path.resolve(__dirname, '../../shared/datasets/lfw-dev/lfw-deepfunneled')));
  const dir = fs.existsSync(wanted) ? wanted : fallback;
  if (dir !== wanted) process.stderr.write(`note: ${wanted} is absent; using face-api's demo photos\n`);
  const limit = Number(arg('limit', '100'));
  const modelId = process.argv.includes('--model') ? arg('model', '') : undefined;
  const engine = await createInProcessFaceEngine({ backend: 'auto', maxPixels: 50_000_000, maxBytes: 50_000_000, modelId });
  const cal = createCalibrationStore(calibrationDirs(undefined))(engine.model.id);
  const sims: number[] = [];
  for (const file of photos(dir, limit)) {
    const a = await engine.analyze(fs.readFileSync(file), { withCrops: true, centreFaceOnly: true });
    const face = a.faces[0];
    if (!face?.cropJpeg) continue;
    const b = await engine.analyzeChips!([face.cropJpeg]);
    const cos = face.embedding.reduce((s, x, i) => s + x * b.faces[0]!.embedding[i]!, 0);
    sims.push(similarityFromCosineDistance(1 - cos));
  }
  await engine.close();
  sims.sort((x, y) => x - y);
  const median = sims[Math.floor(sims.length / 2)] ?? NaN;
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  process.stdout.write(
    `${JSON.stringify({
      model: engine.model.id,
      photos: sims.length,
      similarity: { min: r(sims[0] ?? NaN), p10: r(sims[Math.floor(sims.length / 10)] ?? NaN), median: r(median), mean: r(sims.reduce((s, x) => s + x, 0) / sims.length) },
      falseMatchRateAtMedian: cal.fmrAt(median),
      screeningThreshold: r(cal.thresholdFor(1e-4)),
      belowScreeningThreshold: sims.filter((s) => s < cal.thresholdFor(1e-4)).length,
    })}\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
