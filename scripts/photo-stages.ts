/** Times the engine alone (in process, no HTTP, no database) on each photo of a folder and prints one line per photo: size, decode and each inference stage, total, faces, detector runs and why finer levels ran; figures in docs/BENCHMARKS.md ("Real camera photos"): `npx tsx scripts/photo-stages.ts ../shared/datasets/deepface [--probes 40] [--threads 1] [--no-srgb-skip]`. */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { createInProcessFaceEngine } from '../src/platform/face/face-engine';

// Each photo is analysed twice and the second pass is timed (the first pays for arenas and JIT). --no-srgb-skip decodes
// with the embedded-profile conversion even for sRGB profiles, for the before/after of icc.ts.
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { probes: { type: 'string', default: '40' }, threads: { type: 'string', default: '1' }, model: { type: 'string' }, 'no-srgb-skip': { type: 'boolean', default: false } },
});
const dir = positionals[0];
if (!dir || !fs.existsSync(dir)) {
  process.stderr.write(`photo-stages: no photo folder${dir ? ` at ${dir}` : ''} (give one, e.g. ../shared/datasets/deepface); nothing measured\n`);
  process.exit(2);
}

/** The folder's identities.csv `image` column in file order (as `npm run bench -- --photos` takes them), else its images by name. */
function photoFiles(folder: string): string[] {
  const ids = path.join(folder, 'identities.csv');
  if (!fs.existsSync(ids)) return fs.readdirSync(folder).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort().map((f) => path.join(folder, f));
  const [header, ...rows] = fs.readFileSync(ids, 'utf8').trim().split(/\r?\n/).map((l) => l.split(','));
  const col = header!.indexOf('image');
  return rows.map((r) => path.join(folder, r[col]!));
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

(async () => {
  const files = photoFiles(dir).slice(0, Number(values.probes));
  const engine = await createInProcessFaceEngine({ backend: 'auto', maxPixels: 100_000_000, maxBytes: 50_000_000, modelId: values.model, idleThreads: Number(values.threads), convertSrgbProfiles: values['no-srgb-skip'] });
  const totals: number[] = [];
  process.stdout.write('photo\tsize\tMP\tdecode\tdetect\tlandmarks\talign\tembed\ttotal\tfaces\truns\trefinement\n');
  for (const f of files) {
    const buf = fs.readFileSync(f);
    const m = await sharp(buf).metadata();
    await engine.analyze(buf);
    const r = await engine.analyze(buf);
    const t = r.timings;
    totals.push(t.totalMs);
    const ms = (v: number | undefined) => (v ?? 0).toFixed(1);
    process.stdout.write([path.basename(f), `${m.width}x${m.height}`, ((m.width! * m.height!) / 1e6).toFixed(1), ms(t.decodeMs), ms(t.detectMs), ms(t.landmarksMs), ms(t.alignMs), ms(t.embedMs), ms(t.totalMs), r.faces.length, t.detectorRuns ?? '', t.refinement ?? ''].join('\t') + '\n');
  }
  process.stdout.write(`photos ${files.length}, total ms p50 ${pct(totals, 50).toFixed(1)}, p95 ${pct(totals, 95).toFixed(1)}, max ${Math.max(...totals).toFixed(1)}\n`);
  await engine.close();
})();
