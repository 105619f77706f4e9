/**
 * What the enrolment gate refuses, and whether it should (docs/ACCURACY.md "Enrolment quality gate"):
 *
 *   npx tsx scripts/quality-audit.ts [--images 1000] [--pairs <csv under lfw-dev>] [--workers 2] [--out report.json]
 *
 * Analyses, with the service's own engine (FACE_MODEL, default model), the enrol-bench selection (the first --images photos of
 * lfw-dev, scripts/lib/lfw.ts) and the images of the genuine pairs of --pairs (default pairs-devtest.csv), every face of each.
 * Then applies the enrolment rules as src/modules/gallery/subject.service.ts does (more than one face → MULTIPLE_FACES, else quality
 * below ENROL_MIN_QUALITY → LOW_QUALITY) and reports: refusals, which quality factors sit below 0.5, the second faces of
 * multi-face photos (size relative to the main face, quality), and the genuine-pair similarities of faces the gate refuses
 * against those it passes (a gate should refuse the faces that match badly). Analyses are cached under data/quality-audit
 * with the raw quality measurements, and the quality is recomputed from them on every run, so a change of thresholds in
 * quality.ts is re-measured in seconds; a change of measurement needs the cache removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import type { Box, FaceQuality } from '../src/shared/face.types';
import { createFaceEngine, engineConfigFrom } from '../src/platform/face/face-engine';
import { assessQuality, qualityFactors, qualityThresholdsFor, type QualityMeasures } from '../src/platform/face/quality';
import { manifestDirs, readManifest } from '../src/platform/face/model-manifest';
import { similarityFromCosine } from '../src/shared/calibration';
import { readCsvFile } from './lib/csv';
import { lfwDevRoot, lfwPhotos } from './lib/lfw';
import { analyseCached } from './lib/analysis-cache';

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '1000' },
    pairs: { type: 'string', default: 'pairs-devtest.csv' },
    workers: { type: 'string', default: String(os.cpus().length) },
    out: { type: 'string' },
  },
});

interface CachedFace {
  box: Box;
  detectionScore: number;
  metrics: QualityMeasures;
  /** Main (largest) face only, rounded: genuine-pair similarity. */
  embedding?: number[];
}

const config = loadConfig();
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function analyseAll(files: string[]): Promise<Map<string, CachedFace[] | null>> {
  return analyseCached({
    name: 'quality-audit',
    files,
    cacheFile: path.join(ROOT, 'data/quality-audit', `${config.face.model}.json`),
    workers: Number(args.workers),
    open: () => createFaceEngine({ ...engineConfigFrom(config), workers: Number(args.workers), queueLimit: 1_000_000 }),
    analyse: async (engine, f) =>
      (await engine.analyze(fs.readFileSync(path.join(lfwDevRoot(ROOT), f)))).faces.map((x, i) => ({
        box: x.box,
        detectionScore: x.detectionScore,
        metrics: x.quality.metrics as unknown as QualityMeasures,
        ...(i === 0 ? { embedding: x.embedding.map((v) => round(v, 5)) } : {}),
      })),
  });
}

async function main() {
  const dev = lfwDevRoot(ROOT);
  const enrolSet = lfwPhotos(ROOT, Number(args.images)).map((p) => path.relative(dev, p.file));
  const genuine: [string, string][] = [];
  let header = true;
  for await (const r of readCsvFile(path.join(dev, args.pairs!))) {
    if (header) {
      header = false;
      continue;
    }
    if (r.fields[2] === '1') genuine.push([r.fields[0]!, r.fields[1]!]);
  }
  const files = [...new Set([...enrolSet, ...genuine.flat()])];
  const analysed = await analyseAll(files);

  const manifest = readManifest(config.face.model, manifestDirs(config.face.modelsDir));
  const thresholds = qualityThresholdsFor(manifest);
  const minQuality = config.matching.enrolMinQuality;
  const quality = (f: CachedFace): FaceQuality => assessQuality(f.metrics, thresholds);
  /** The factor names below 0.5, and for faces under the gate with no issue, the weakest factor's name (after '~'). */
  type Verdict = 'ok' | 'NO_FACE' | 'MULTIPLE_FACES' | 'LOW_QUALITY';
  const verdict = (faces: CachedFace[] | null): Verdict => {
    if (!faces || faces.length === 0) return 'NO_FACE';
    if (faces.length > 1) return 'MULTIPLE_FACES';
    return quality(faces[0]!).score < minQuality ? 'LOW_QUALITY' : 'ok';
  };

  // 1. Enrolment of the enrol-bench selection.
  const verdicts: Record<Verdict, number> = { ok: 0, NO_FACE: 0, MULTIPLE_FACES: 0, LOW_QUALITY: 0 };
  const issues: Record<string, number> = {};
  const lowNoIssue: Record<string, number> = {};
  const seconds: { relArea: number; quality: number; detectionScore: number; interEyePx: number }[] = [];
  let mainWouldFail = 0;
  for (const f of enrolSet) {
    const faces = analysed.get(f)!;
    const v = verdict(faces);
    verdicts[v]++;
    if (v === 'LOW_QUALITY') {
      const q = quality(faces![0]!);
      for (const i of q.issues) issues[i] = (issues[i] ?? 0) + 1;
      if (q.issues.length === 0) lowNoIssue.none = (lowNoIssue.none ?? 0) + 1;
      if (q.issues.length > 1) issues['(more than one)'] = (issues['(more than one)'] ?? 0) + 1;
    }
    if (v === 'MULTIPLE_FACES') {
      const main = faces![0]!;
      if (quality(main).score < minQuality) mainWouldFail++;
      for (const s of faces!.slice(1)) {
        seconds.push({
          relArea: round((s.box.width * s.box.height) / (main.box.width * main.box.height)),
          quality: quality(s).score,
          detectionScore: round(s.detectionScore),
          interEyePx: round(s.metrics.interEyePx, 1),
        });
      }
    }
  }
  const quantiles = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN);
    return { n: s.length, min: s[0], p10: q(0.1), p50: q(0.5), p90: q(0.9), max: s[s.length - 1] };
  };
  // Factor values of the single-face photos under the gate: which measurement pulls them down.
  const factorsBelow: Record<string, number> = {};
  for (const f of enrolSet) {
    const faces = analysed.get(f)!;
    if (!faces || faces.length !== 1) continue;
    const q = assessQuality(faces[0]!.metrics, thresholds);
    if (q.score >= minQuality) continue;
    const fx = qualityFactors(faces[0]!.metrics, thresholds);
    const weakest = Object.entries(fx).sort((a, b) => a[1] - b[1])[0];
    if (weakest) factorsBelow[weakest[0]] = (factorsBelow[weakest[0]] ?? 0) + 1;
  }

  // 2. Genuine pairs: similarity of the main faces, split by whether the gate passes both (or would refuse either).
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
  const groups: Record<string, number[]> = { bothPass: [], eitherLowQuality: [], eitherMultipleFaces: [] };
  const byIssue: Record<string, number[]> = {};
  for (const [a, b] of genuine) {
    const fa = analysed.get(a);
    const fb = analysed.get(b);
    if (!fa?.length || !fb?.length) continue;
    const s = round(similarityFromCosine(dot(fa[0]!.embedding!, fb[0]!.embedding!)), 4);
    const va = verdict(fa);
    const vb = verdict(fb);
    if (va === 'ok' && vb === 'ok') groups.bothPass!.push(s);
    if (va === 'LOW_QUALITY' || vb === 'LOW_QUALITY') groups.eitherLowQuality!.push(s);
    if (va === 'MULTIPLE_FACES' || vb === 'MULTIPLE_FACES') groups.eitherMultipleFaces!.push(s);
    for (const i of new Set([...quality(fa[0]!).issues, ...quality(fb[0]!).issues])) (byIssue[i] ??= []).push(s);
  }
  // The service's 1:1 threshold at VERIFY_TARGET_FMR 1e-4 for the default model (docs/ACCURACY.md): a genuine pair under it is a miss.
  const threshold = 0.7061;
  const summary = (xs: number[]) => ({ ...quantiles(xs), mean: round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)), missRate: round(xs.filter((x) => x < threshold).length / Math.max(1, xs.length)) });

  const report = {
    model: config.face.model,
    enrolMinQuality: minQuality,
    thresholds,
    enrolment: { images: enrolSet.length, verdicts, lowQualityIssues: issues, lowQualityWeakestFactor: factorsBelow, lowQualityNoIssue: lowNoIssue.none ?? 0 },
    multipleFaces: {
      photos: verdicts.MULTIPLE_FACES,
      mainFaceUnderGate: mainWouldFail,
      secondFaces: { relArea: quantiles(seconds.map((s) => s.relArea)), quality: quantiles(seconds.map((s) => s.quality)), interEyePx: quantiles(seconds.map((s) => s.interEyePx)) },
      secondFacesPassingGate: seconds.filter((s) => s.quality >= minQuality).length,
      secondFacesOverQuarterArea: seconds.filter((s) => s.relArea >= 0.25).length,
    },
    genuinePairs: {
      pairs: args.pairs,
      threshold,
      ...Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, summary(v)])),
      byIssue: Object.fromEntries(Object.entries(byIssue).map(([k, v]) => [k, summary(v)])),
    },
  };
  const text = JSON.stringify(report, null, 2);
  if (args.out) fs.writeFileSync(args.out, text);
  process.stdout.write(`${text}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
