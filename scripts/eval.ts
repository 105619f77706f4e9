/**
 * Accuracy measurements with the service's own engine (same decode, detection, alignment and embedding as the API;
 * figures in docs/ACCURACY.md).
 *
 *   npm run eval -- --pairs <csv> --root <dir> [--out report.json]           verification on labelled pairs (a,b,same)
 *   npm run eval -- --identification --root <dir> [--out report.json]        1:N on a Name/Name_NNNN.jpg tree
 *   npm run eval -- --pairs <csv> --root <dir> --calibrate                   also write models/calibration/<model>.json
 *   npm run eval -- --enrolment --pairs <csv> --root <dir> [--out report.json] the API's enrolment gate on every image of the
 *                                                                             pairs: failure to enrol per reason beside FTA, and
 *                                                                             TAR by what enrolling the gallery side takes
 *   npm run eval -- --enrolment --root <Name/Name_NNNN tree>                  the gate on the first photo of every person
 *
 * Every image is embedded once (the face nearest the image centre, LFW convention) and cached under data/eval-cache, so the
 * runs that follow reuse it. Each image is embedded with every pipeline variant (eye-levelled or axis-aligned chip, with and
 * without flip test-time augmentation), so one run compares them; the report's top-level figures are for the variant the
 * model manifest configures (what the service computes). With identities known from the folder layout (Name/Name_NNNN.jpg),
 * the report adds TAR at FAR over every cross-identity pair of the set's images ("allPairs"), which resolves FAR 1e-4.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { buildCalibrationTable, createCalibration, type Calibration } from '../src/shared/calibration';
import type { Box, DetectedFace, FaceQuality } from '../src/shared/face.types';
import { assessQuality, qualityThresholdsFor, type QualityMeasures, type QualityThresholds } from '../src/platform/face/quality';
import { calibrationDirs, calibrationFile, createCalibrationStore } from '../src/platform/face/calibration.store';
import { finishDescriptor } from '../src/platform/face/descriptor';
import { DETECTION_PADS } from '../src/platform/face/tfjs.analyzer';
import { createFaceEngine, engineConfigFrom } from '../src/platform/face/face-engine';
import { DEFAULT_PLAN } from '../src/platform/face/detection-plan';
import { manifestDirs, manifestFileOf, readManifest, readVerifiedCentre, sha256Hex, weightsSha256, type ModelManifest } from '../src/platform/face/model-manifest';
import {
  accuracyAt,
  bestThreshold,
  dot,
  identificationMetrics,
  rocPoints,
  round,
  similarity,
  tarAtFars,
  type IdentificationSearch,
  type ScoredPair,
} from './lib/eval-metrics';
import { analyseCached } from './lib/analysis-cache';
import { enrolmentCounts, enrolOutcome, tarByCategory, type AnalysedPhoto } from './lib/eval-enrolment';

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string' },
    root: { type: 'string' },
    out: { type: 'string' },
    identification: { type: 'boolean', default: false },
    enrolment: { type: 'boolean', default: false },
    /** --enrolment only: quality thresholds (JSON) over the model's, the score recomputed from each face's cached measures. */
    quality: { type: 'string' },
    calibrate: { type: 'boolean', default: false },
    'fit-centre': { type: 'boolean', default: false },
    workers: { type: 'string', default: String(os.cpus().length) },
    cache: { type: 'string', default: path.resolve(__dirname, '../data/eval-cache') },
    limit: { type: 'string' },
  },
});

/** Pipeline variants: the tfjs runtime can cut an eye-levelled or an axis-aligned chip; the ONNX runtime's chip is 5-point aligned. */
type Variant = string;

/** What the cache keeps per image: no pixels, just the raw descriptors (base64 float32 on disk) and what the report needs. */
interface ImageResult {
  fta: boolean;
  /** The face was found only on a padded detection pass (a failure to acquire without them). */
  padded: boolean;
  /** Which pass found it (0 = the image itself, n = n-th padded copy), null for a failure. */
  detectionPass?: number | null;
  /** The padded passes tried (DETECTION_PADS): a cached failure is retried when they change, a cached face stays valid. */
  detectionPads?: string;
  quality: number | null;
  issues: string[];
  /** decode + detect + landmarks + embed (the service's own work per image; variant embeddings excluded). */
  ms: number;
  /** Raw descriptors (mean over flips, not centred, not normalised): finished with the model's centre after loading. */
  variants: Record<Variant, Float32Array> | null;
}

const toB64 = (v: ArrayLike<number>) => Buffer.from(Float32Array.from(v).buffer).toString('base64');
const fromB64 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
type CachedResult = Omit<ImageResult, 'variants'> & { stamp: string; variants: Record<Variant, string> | null };
const encode = (r: ImageResult, stamp: string): CachedResult => ({
  ...r,
  stamp,
  variants: r.variants ? (Object.fromEntries(VARIANTS.map((v) => [v, toB64(r.variants![v]!)])) as Record<Variant, string>) : null,
});
const decode = (c: CachedResult): ImageResult => ({
  ...c,
  variants: c.variants ? (Object.fromEntries(VARIANTS.map((v) => [v, fromB64(c.variants![v]!)])) as Record<Variant, Float32Array>) : null,
});

const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
const modelDirs = manifestDirs(config.face.modelsDir);
const manifest = readManifest(config.face.model, modelDirs);
const onnx = manifest.runtime === 'onnx';
const VARIANTS: readonly Variant[] = onnx ? ['aligned', 'aligned+flip'] : ['aligned', 'aligned+flip', 'axis', 'axis+flip'];
const serviceVariant: Variant = `${onnx || (manifest.pipeline.alignRotation ?? true) ? 'aligned' : 'axis'}${manifest.pipeline.flipTta ? '+flip' : ''}`;
/** What decides which faces are found: a cached failure to acquire is retried when it changes. */
const DETECTOR_KEY = onnx ? `tiles-${JSON.stringify({ ...DEFAULT_PLAN, minFacePx: config.face.minFacePx })}` : DETECTION_PADS.join(',');

function fail(msg: string): never {
  process.stderr.write(`eval: ${msg}\n`);
  process.exit(2);
}

/** Identity from the LFW layout (<root>/…/Name/Name_NNNN.ext); null when the layout does not say. */
function identityOf(rel: string): string | null {
  const parts = rel.split('/');
  const dir = parts[parts.length - 2];
  const file = parts[parts.length - 1]!;
  return dir && file.startsWith(`${dir}_`) ? dir : null;
}

function readPairs(csv: string): { a: string; b: string; same: boolean }[] {
  const [header, ...lines] = fs.readFileSync(csv, 'utf8').split(/\r?\n/).filter(Boolean);
  const cols = header!.split(',');
  const [ia, ib, is] = ['a', 'b', 'same'].map((c) => cols.indexOf(c));
  if (ia! < 0 || ib! < 0 || is! < 0) fail(`${csv}: expected columns a,b,same`);
  return lines.map((l) => {
    const f = l.split(',');
    return { a: f[ia!]!, b: f[ib!]!, same: f[is!] === '1' };
  });
}

function listTree(root: string): string[] {
  const out: string[] = [];
  for (const dir of fs.readdirSync(root).sort()) {
    const full = path.join(root, dir);
    if (!fs.statSync(full).isDirectory()) continue;
    for (const f of fs.readdirSync(full).sort()) if (/\.(jpe?g|png|webp)$/i.test(f)) out.push(`${dir}/${f}`);
  }
  return out;
}

/** Embeds every image (cached by model weights, detector settings and file path/size/mtime) with a worker pool. */
async function embedAll(root: string, rels: string[]): Promise<Map<string, ImageResult>> {
  const engine = await createFaceEngine({ ...engineConfigFrom(config), workers: Number(args.workers), queueLimit: 1_000_000 });
  // Raw descriptors depend on the nets and the chip, not on the centre: a refitted centre reuses the cache.
  const p = manifest.pipeline;
  const netsSha = weightsSha256({ ...manifest, pipeline: { ...p, centre: undefined } });
  const key = onnx
    ? `raw-${netsSha.slice(0, 16)}-onnx-det${config.face.minDetectionScore ?? 'model'}-${p.alignment}`
    : `raw-${netsSha.slice(0, 16)}-det${config.face.minDetectionScore ?? 'model'}-pad${p.chipPadding}-${p.chipSize ?? 150}-${p.input ?? 'rgb-0-255'}`;
  const cacheFile = path.join(args.cache!, `${key}.json`);
  const cache: Record<string, CachedResult> = fs.existsSync(cacheFile) ? JSON.parse(fs.readFileSync(cacheFile, 'utf8')) : {};
  const results = new Map<string, ImageResult>();
  const todo: string[] = [];
  for (const rel of rels) {
    const full = path.resolve(root, rel);
    const st = fs.statSync(full);
    const stamp = `${st.size}:${st.mtimeMs}`;
    const hit = cache[full];
    const stale = hit && hit.fta && hit.detectionPads !== DETECTOR_KEY;
    if (hit && hit.stamp === stamp && !stale) results.set(rel, decode(hit));
    else todo.push(rel);
  }
  process.stderr.write(`eval: model ${engine.model.id} (${engine.model.backend}); ${rels.length} images, ${todo.length} to embed, ${args.workers} workers\n`);
  const t0 = performance.now();
  let done = 0;
  const one = async (rel: string) => {
    const full = path.resolve(root, rel);
    const st = fs.statSync(full);
    let r: ImageResult;
    try {
      const a = await engine.analyze(fs.readFileSync(full), { centreFaceOnly: true, variants: true });
      const face: DetectedFace | undefined = a.faces[0];
      const t = a.timings;
      r = {
        fta: !face,
        padded: (t.detectionPass ?? 0) > 0,
        detectionPass: t.detectionPass ?? null,
        detectionPads: DETECTOR_KEY,
        quality: face ? round(face.quality.score, 4) : null,
        issues: face ? face.quality.issues : [],
        ms: round(t.decodeMs + (t.detectMs ?? 0) + (t.landmarksMs ?? 0) + (t.alignMs ?? 0) + (t.embedMs ?? 0), 1),
        variants: face ? (Object.fromEntries(VARIANTS.map((v) => [v, Float32Array.from(face.variants![v]!)])) as Record<Variant, Float32Array>) : null,
      };
    } catch (e) {
      process.stderr.write(`eval: ${rel}: ${(e as Error).message}\n`);
      r = { fta: true, padded: false, detectionPads: DETECTOR_KEY, quality: null, issues: [], ms: 0, variants: null };
    }
    results.set(rel, r);
    cache[full] = encode(r, `${st.size}:${st.mtimeMs}`);
    if (++done % 200 === 0) {
      const rate = done / ((performance.now() - t0) / 1000);
      process.stderr.write(`eval: ${done}/${todo.length} (${rate.toFixed(1)} images/s)\n`);
      fs.mkdirSync(args.cache!, { recursive: true });
      fs.writeFileSync(cacheFile, JSON.stringify(cache));
    }
  };
  const queue = [...todo];
  await Promise.all(Array.from({ length: Number(args.workers) * 2 }, async () => {
    for (let rel = queue.shift(); rel; rel = queue.shift()) await one(rel);
  }));
  await engine.close();
  if (todo.length) {
    fs.mkdirSync(args.cache!, { recursive: true });
    fs.writeFileSync(cacheFile, JSON.stringify(cache));
  }
  return results;
}

/** Finished templates per image and variant (the model's centre subtracted, L2-normalised), filled by finishAll. */
const finished = new Map<ImageResult, Record<Variant, number[]>>();
function finishAll(res: Map<string, ImageResult>, centre: ArrayLike<number> | null) {
  finished.clear();
  for (const r of res.values()) {
    if (r.variants) finished.set(r, Object.fromEntries(VARIANTS.map((v) => [v, finishDescriptor([r.variants![v]!], centre)])) as Record<Variant, number[]>);
  }
}
const vec = (r: ImageResult | undefined, v: Variant) => (r && !r.fta && r.variants ? finished.get(r)![v] : null);

/**
 * Fits the model's centre (mean raw descriptor of the service's pipeline over the set's embedded images), writes it to
 * models/<model>.centre.json and records its SHA-256 in the model's manifest. Training data only: never run it on devtest.
 */
function fitCentre(res: Map<string, ImageResult>, setName: string): Float32Array {
  const raws = [...res.values()].filter((r) => r.variants).map((r) => r.variants![serviceVariant]!);
  const n = raws[0]!.length;
  const mean = new Float64Array(n);
  for (const r of raws) for (let i = 0; i < n; i++) mean[i] = mean[i]! + r[i]! / raws.length;
  const fileName = `${manifest.id.replace(/[@/]/g, '_')}.centre.json`;
  const body = `${JSON.stringify({ model: manifest.id, source: `mean raw ${serviceVariant} descriptor of the ${raws.length} embedded images of ${setName}`, values: Array.from(mean, (x) => Number(x.toPrecision(7))) })}\n`;
  fs.writeFileSync(path.join(manifest.dir!, fileName), body);
  const manifestFile = manifestFileOf(manifest.id, modelDirs);
  const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as ModelManifest;
  m.pipeline.centre = { path: fileName, sha256: sha256Hex(body) };
  fs.writeFileSync(manifestFile, `${JSON.stringify(m, null, 2)}\n`);
  process.stderr.write(`eval: wrote models/${fileName} (${raws.length} images) and its SHA-256 into ${path.relative(process.cwd(), manifestFile)}\n`);
  manifest.pipeline.centre = m.pipeline.centre;
  return readVerifiedCentre(manifest)!;
}

/** All cross-image pairs of a set whose identities are known: impostor and genuine similarities for one variant. */
function allPairScores(rels: string[], res: Map<string, ImageResult>, v: Variant) {
  const items = rels.map((rel) => ({ id: identityOf(rel)!, e: vec(res.get(rel), v) }));
  const impostors: (number | null)[] = [];
  const genuine: (number | null)[] = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i]!;
      const b = items[j]!;
      const s = a.e && b.e ? similarity(a.e, b.e) : null;
      (a.id === b.id ? genuine : impostors).push(s);
    }
  }
  return { genuine, impostors };
}

function calibrationCheck(cal: Calibration, impostors: (number | null)[]) {
  return (['1e-2', '1e-3', '1e-4'] as const).map((k) => {
    const predicted = Number(k);
    if (predicted < cal.floor || impostors.length * predicted < 1) return { targetFmr: predicted, threshold: null, observedFmr: null, ratio: null };
    const t = cal.thresholdFor(predicted);
    const observed = impostors.filter((s) => s !== null && s >= t).length / impostors.length;
    return { targetFmr: predicted, threshold: round(t, 5), observedFmr: round(observed, 6), ratio: observed > 0 ? round(observed / predicted, 3) : 0 };
  });
}

async function verification() {
  const root = args.root!;
  let pairs = readPairs(args.pairs!);
  if (args.limit) pairs = pairs.slice(0, Number(args.limit));
  const rels = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const t0 = performance.now();
  const res = await embedAll(root, rels);
  const wallMs = performance.now() - t0;
  finishAll(res, args['fit-centre'] ? fitCentre(res, path.basename(args.pairs!)) : readVerifiedCentre(manifest));
  const imgs = [...res.values()];
  const ftaImages = rels.filter((r) => res.get(r)!.fta).length;
  const ftaWithoutPad = ftaImages + rels.filter((r) => res.get(r)!.padded).length;
  // Faces found by each detection pass (cache entries from before detectionPass was recorded had one padded pass).
  const passOf = (r: ImageResult) => (r.fta ? null : (r.detectionPass ?? (r.padded ? 1 : 0)));
  const foundByPass = [0, ...DETECTION_PADS].map((_, i) => rels.filter((r) => passOf(res.get(r)!) === i).length);
  const identitiesKnown = rels.every((r) => identityOf(r) !== null);

  const qualityMin = config.matching.probeMinQuality;
  const perVariant = (v: Variant) => {
    const scored: (ScoredPair & { pass: boolean })[] = pairs.map((p) => {
      const a = vec(res.get(p.a), v);
      const b = vec(res.get(p.b), v);
      const pass = [p.a, p.b].every((r) => (res.get(r)!.quality ?? 0) >= qualityMin);
      return { same: p.same, score: a && b ? similarity(a, b) : null, pass };
    });
    const genuine = scored.filter((p) => p.same).map((p) => p.score);
    const impostors = scored.filter((p) => !p.same).map((p) => p.score);
    const best = bestThreshold(scored);
    const passing = scored.filter((p) => p.pass);
    const out: Record<string, unknown> = {
      bestThreshold: round(best.threshold, 5),
      bestAccuracy: round(best.accuracy, 5),
      tar: tarAtFars(genuine, impostors).tar,
      roc: rocPoints(genuine, impostors),
      qualityGate: {
        minQuality: qualityMin,
        pairsPassing: passing.length,
        tarAllPairs: tarAtFars(genuine, impostors).tar,
        tarPassingPairs: tarAtFars(passing.filter((p) => p.same).map((p) => p.score), passing.filter((p) => !p.same).map((p) => p.score)).tar,
      },
      scored,
    };
    if (identitiesKnown) {
      const all = allPairScores(rels, res, v);
      out.allPairs = { genuine: all.genuine.length, impostors: all.impostors.length, tar: tarAtFars(all.genuine, all.impostors).tar, impostorScores: all.impostors };
    }
    return out;
  };

  const variants = Object.fromEntries(VARIANTS.map((v) => [v, perVariant(v)]));
  const svc = variants[serviceVariant]!;
  const scored = svc.scored as ScoredPair[];

  let calibration: Record<string, unknown> | null = null;
  const modelId = manifest.id;
  // A model's table lives beside its manifest: models/calibration, or <FACE_MODELS_DIR>/calibration for a deployment's own.
  const tableFile = calibrationFile(modelId, path.join(manifest.dir!, 'calibration'));
  if (args.calibrate) {
    let imp: number[];
    let source: string;
    if (identitiesKnown) {
      imp = (svc.allPairs as { impostorScores: (number | null)[] }).impostorScores.filter((s): s is number => s !== null);
      source = `every cross-identity pair of the ${rels.length - ftaImages} embedded images of ${path.basename(args.pairs!)} (${path.basename(path.resolve(root))})`;
    } else {
      // Without identities only the listed different-identity pairs are impostors: the table resolves FMRs down to ~1/their count.
      imp = scored.filter((p) => !p.same && p.score !== null).map((p) => p.score as number);
      source = `the ${imp.length} listed different-identity pairs of ${path.basename(args.pairs!)} (identities unknown: FMR resolved to ~${(1 / Math.max(1, imp.length)).toExponential(0)})`;
      process.stderr.write(`eval: identities unknown from the folder layout; calibrating on the ${imp.length} listed impostor pairs only\n`);
    }
    const table = buildCalibrationTable(imp, modelId, `impostor pairs: ${source}, pipeline ${serviceVariant}`);
    fs.mkdirSync(path.dirname(tableFile), { recursive: true });
    fs.writeFileSync(tableFile, `${JSON.stringify(table, null, 2)}\n`);
    process.stderr.write(`eval: wrote ${tableFile} (${table.points.length} points, ${table.impostorPairs} impostor pairs)\n`);
  }
  let cal: Calibration | null = null;
  try {
    cal = createCalibrationStore(calibrationDirs(config.face.modelsDir))(modelId);
  } catch {
    cal = null;
  }
  let accuracy: number | null = null;
  let serviceThreshold: number | null = null;
  if (cal) {
    serviceThreshold = cal.thresholdFor(config.matching.verifyTargetFmr);
    accuracy = round(accuracyAt(scored, serviceThreshold), 5);
    calibration = {
      table: path.relative(process.cwd(), tableFile),
      listedPairs: calibrationCheck(cal, scored.filter((p) => !p.same).map((p) => p.score)),
      ...(svc.allPairs ? { allPairs: calibrationCheck(cal, (svc.allPairs as { impostorScores: (number | null)[] }).impostorScores) } : {}),
    };
  }
  const strip = (o: Record<string, unknown>) => {
    const { scored: _s, allPairs, ...rest } = o;
    const ap = allPairs as Record<string, unknown> | undefined;
    return ap ? { ...rest, allPairs: { genuine: ap.genuine, impostors: ap.impostors, tar: ap.tar } } : rest;
  };
  const svcStripped = strip(svc);
  return {
    model: { id: modelId, pipeline: serviceVariant, backend: config.face.backend },
    pairs: pairs.length,
    images: rels.length,
    ftaImages,
    ftaRate: round(ftaImages / rels.length, 5),
    ftaImagesWithoutPaddedPass: ftaWithoutPad,
    detectionPasses: { pads: [0, ...DETECTION_PADS], facesFound: foundByPass },
    ftaPairs: scored.filter((p) => p.score === null).length,
    accuracy,
    accuracyThreshold: serviceThreshold === null ? null : { similarity: round(serviceThreshold, 5), verifyTargetFmr: config.matching.verifyTargetFmr },
    bestThreshold: svcStripped.bestThreshold,
    bestAccuracy: svcStripped.bestAccuracy,
    tar: svcStripped.tar,
    roc: svcStripped.roc,
    qualityGate: svcStripped.qualityGate,
    ...(svcStripped.allPairs ? { allPairs: svcStripped.allPairs } : {}),
    calibration,
    msPerImage: round(imgs.reduce((s, r) => s + r.ms, 0) / Math.max(1, imgs.filter((r) => r.ms > 0).length), 1),
    wallMsPerImage: round(wallMs / rels.length, 1),
    variants: Object.fromEntries(Object.entries(variants).map(([k, v]) => [k, strip(v)])),
  };
}

async function identification() {
  const root = args.root!;
  let rels = listTree(root);
  if (args.limit) rels = rels.slice(0, Number(args.limit));
  const byId = new Map<string, string[]>();
  for (const r of rels) byId.set(r.split('/')[0]!, [...(byId.get(r.split('/')[0]!) ?? []), r]);
  const res = await embedAll(root, rels);
  finishAll(res, readVerifiedCentre(manifest));
  const gallery = [...byId.entries()].map(([id, files]) => ({ id, e: vec(res.get(files[0]!), serviceVariant) }));
  const galleryOk = gallery.filter((g): g is { id: string; e: number[] } => g.e !== null);
  const searches: IdentificationSearch[] = [];
  for (const [id, files] of byId) {
    for (const rel of files.slice(1)) {
      const e = vec(res.get(rel), serviceVariant);
      if (!e) {
        searches.push({ mateScore: null, mateRank: null, nonMateTop: null });
        continue;
      }
      let mateScore: number | null = null;
      let nonMateTop = -Infinity;
      const scores: number[] = [];
      for (const g of galleryOk) {
        const s = (1 + dot(e, g.e)) / 2;
        scores.push(s);
        if (g.id === id) mateScore = s;
        else nonMateTop = Math.max(nonMateTop, s);
      }
      const mateRank = mateScore === null ? null : 1 + scores.filter((s) => s > mateScore!).length;
      searches.push({ mateScore, mateRank, nonMateTop });
    }
  }
  const ftaImages = rels.filter((r) => res.get(r)!.fta).length;
  return {
    model: { id: manifest.id, pipeline: serviceVariant },
    root: path.basename(path.resolve(root)),
    images: rels.length,
    identities: byId.size,
    gallery: gallery.length,
    galleryFta: gallery.length - galleryOk.length,
    ftaImages,
    ftaRate: round(ftaImages / rels.length, 5),
    ...identificationMetrics(searches),
  };
}

/** The API's analysis of each photo (every face, standard detail), cached without pixels: boxes, quality and templates. */
async function analyseForEnrolment(root: string, rels: string[]): Promise<Map<string, AnalysedPhoto | null>> {
  const netsSha = weightsSha256({ ...manifest, pipeline: { ...manifest.pipeline, centre: undefined } });
  const key = createHash('sha256').update(`${DETECTOR_KEY}|${JSON.stringify(manifest.pipeline)}|${JSON.stringify(manifest.quality ?? {})}`).digest('hex').slice(0, 12);
  type Cached = { width: number; height: number; faces: { box: Box; quality: Pick<FaceQuality, 'score' | 'issues' | 'metrics'>; embedding: string }[] } | null;
  const cached = await analyseCached<Cached>({
    name: 'eval',
    files: rels,
    cacheFile: path.join(args.cache!, `enrol-${netsSha.slice(0, 16)}-${key}.json`),
    workers: Number(args.workers),
    open: () => createFaceEngine({ ...engineConfigFrom(config), workers: Number(args.workers), queueLimit: 1_000_000 }),
    analyse: async (engine, rel) => {
      const a = await engine.analyze(fs.readFileSync(path.resolve(root, rel)));
      return { width: a.width, height: a.height, faces: a.faces.map((f) => ({ box: f.box, quality: f.quality, embedding: toB64(f.embedding) })) };
    },
  });
  const override = args.quality ? { ...qualityThresholdsFor(manifest), ...(JSON.parse(args.quality) as Partial<QualityThresholds>) } : null;
  return new Map(
    [...cached].map(([rel, c]) => [
      rel,
      c && {
        width: c.width,
        height: c.height,
        faces: c.faces.map((f) => ({ box: f.box, quality: override ? assessQuality(f.quality.metrics as unknown as QualityMeasures, override) : f.quality, embedding: fromB64(f.embedding) })),
      },
    ]),
  );
}

/** --enrolment: the API's own gate on each image, failure to enrol per reason, and TAR by what enrolling the gallery side takes. */
async function enrolment() {
  const root = args.root!;
  let rels: string[];
  if (args.pairs) rels = [...new Set(readPairs(args.pairs).flatMap((p) => [p.a, p.b]))];
  else {
    // The first photo (name order) of every person: the issue-29 benchmark, "the first photo of every person of a face set".
    const byId = new Map<string, string>();
    for (const r of listTree(root)) if (!byId.has(r.split('/')[0]!)) byId.set(r.split('/')[0]!, r);
    rels = [...byId.values()];
  }
  if (args.limit) rels = rels.slice(0, Number(args.limit));
  const photos = await analyseForEnrolment(root, rels);
  const rules = { minQuality: config.matching.enrolMinQuality, floorQuality: config.matching.enrolQualityFloor, dominantRatio: config.matching.enrolDominantRatio };
  const items = rels.map((rel) => ({ rel, identity: identityOf(rel) ?? rel, photo: photos.get(rel)!, outcome: enrolOutcome(photos.get(rel)!, rules) }));
  let calibrated: Record<string, number> | null = null;
  try {
    const cal = createCalibrationStore(calibrationDirs(config.face.modelsDir))(manifest.id);
    calibrated = { '1e-3': cal.thresholdFor(1e-3), '1e-4': cal.thresholdFor(1e-4) };
  } catch {
    calibrated = null;
  }
  const verification = args.pairs && items.every((it) => identityOf(it.rel) !== null) ? tarByCategory(items, calibrated) : null;
  return {
    model: manifest.id,
    set: args.pairs ? path.basename(args.pairs) : `first photo of each person of ${path.basename(path.resolve(root))}`,
    rules,
    qualityThresholds: args.quality ? { ...qualityThresholdsFor(manifest), ...(JSON.parse(args.quality) as object) } : qualityThresholdsFor(manifest),
    ...enrolmentCounts(items.map((it) => it.outcome)),
    verification,
    refusedPhotos: items.filter((it) => it.outcome.verdict !== 'enrolled').map((it) => ({ photo: it.rel, verdict: it.outcome.verdict, issues: it.outcome.issues, category: it.outcome.category })),
  };
}

function printEnrolment(r: Awaited<ReturnType<typeof enrolment>>) {
  const pct = (n: number) => `${((100 * n) / Math.max(1, r.photos)).toFixed(1)}%`;
  const lines = [
    `model ${r.model}; ${r.set}: ${r.photos} photos; rules minQuality ${r.rules.minQuality}, floor ${r.rules.floorQuality}, dominantRatio ${r.rules.dominantRatio}`,
    `failure to acquire ${r.fta} (${pct(r.fta)}); failure to enrol ${r.fte} (${pct(r.fte)}): ${Object.entries(r.verdicts).filter(([k]) => k !== 'enrolled').map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `LOW_QUALITY issues: ${Object.entries(r.lowQualityIssues).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `what the gallery side takes: ${Object.entries(r.categories).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
  const v = r.verification;
  if (v) {
    const f = (x: number | null | undefined) => (typeof x === 'number' ? x.toFixed(4) : 'n/a');
    lines.push(`thresholds from ${v.orderedPairs.impostors} ordered impostor pairs: FAR 1e-3 ${f(v.thresholds['1e-3'])}, 1e-4 ${f(v.thresholds['1e-4'])}; calibrated ${f(v.calibratedThresholds?.['1e-3'])} / ${f(v.calibratedThresholds?.['1e-4'])}`);
    for (const [c, b] of Object.entries(v.byCategory)) {
      lines.push(`  gallery ${c.padEnd(9)} ${String(b.galleryImages).padStart(5)} images ${String(b.genuinePairs).padStart(6)} genuine: TAR@1e-3 ${f(b.tar?.['1e-3'])} TAR@1e-4 ${f(b.tar?.['1e-4'])} (FAR observed ${b.observedFar?.['1e-4'] ?? 'n/a'}; at calibrated 1e-4 ${f(b.tarAtCalibrated?.['1e-4'])})`);
    }
    lines.push(`  enrolled as sent: TAR@1e-4 ${f(v.enrolledAsSent.tar['1e-4'])} (${v.enrolledAsSent.genuinePairs} genuine); with the enroller's choices and overrules: ${f(v.enrolledWithEnroller.tar['1e-4'])} (${v.enrolledWithEnroller.genuinePairs})`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}

function printVerification(r: Awaited<ReturnType<typeof verification>>) {
  const pct = (x: unknown) => (typeof x === 'number' ? `${(x * 100).toFixed(2)}%` : 'n/a');
  const f3 = (x: unknown) => (typeof x === 'number' ? x.toFixed(4) : 'n/a');
  const lines = [
    `model ${r.model.id} (pipeline ${r.model.pipeline}); ${r.pairs} pairs, ${r.images} images, FTA ${r.ftaImages} (${pct(r.ftaRate)}; ${r.ftaImagesWithoutPaddedPass} without the padded detection passes; faces found by pass ${r.detectionPasses.facesFound.join(' / ')})`,
    `accuracy at the service's verify threshold (FMR ${r.accuracyThreshold?.verifyTargetFmr ?? 'n/a'}): ${pct(r.accuracy)}; best-threshold accuracy ${pct(r.bestAccuracy)} at ${f3(r.bestThreshold)}`,
    `${'variant'.padEnd(14)} ${'best acc'.padStart(9)} ${'TAR@1e-2'.padStart(9)} ${'TAR@1e-3'.padStart(9)} ${'all-pairs TAR@1e-3'.padStart(19)} ${'@1e-4'.padStart(7)}`,
    ...Object.entries(r.variants).map(([k, v]) => {
      const tar = v.tar as Record<string, number | null>;
      const ap = (v as { allPairs?: { tar: Record<string, number | null> } }).allPairs?.tar;
      return `${(k + (k === r.model.pipeline ? ' *' : '')).padEnd(14)} ${pct(v.bestAccuracy).padStart(9)} ${f3(tar['1e-2']).padStart(9)} ${f3(tar['1e-3']).padStart(9)} ${f3(ap?.['1e-3']).padStart(19)} ${f3(ap?.['1e-4']).padStart(7)}`;
    }),
    `msPerImage ${r.msPerImage} (engine time per image, one worker); wall ${r.wallMsPerImage} ms per image with ${args.workers} workers, variants included`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

async function main() {
  if (!args.root) fail('--root <dir> is required');
  if (!fs.existsSync(args.root)) {
    process.stderr.write(`eval: ${args.root} does not exist: nothing to evaluate (get LFW or point --root at a labelled set)\n`);
    process.exit(0);
  }
  let report: unknown;
  if (args.enrolment) {
    const r = await enrolment();
    printEnrolment(r);
    report = r;
  } else if (args.identification) {
    report = await identification();
    process.stderr.write(`${JSON.stringify(report)}\n`);
  } else {
    if (!args.pairs) fail('--pairs <csv> is required (or --identification)');
    const r = await verification();
    printVerification(r);
    report = r;
  }
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (args.out) fs.writeFileSync(args.out, json);
  else process.stdout.write(json);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
