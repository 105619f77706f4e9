/**
 * What the enrolment gate refuses on LFW, per reason, before and after the dominant-face rule (docs/ACCURACY.md "Enrolment
 * gate: dominant face, chosen face, overrule"):
 *
 *   npx tsx scripts/enrol-gate.ts [--every 10] [--workers 2] [--out report.json]
 *
 * The photos: the first photo (name order) of every --every-th person of lfw-dev's lfw-deepfunneled (people in name order;
 * --every 10 → 310 people). Each is analysed as POST /v1/subjects/:id/faces does (the service's engine, FACE_MODEL, every
 * face, standard detail) and the result is put through the API's own gate, src/modules/gallery/enrolment-gate.ts, with
 * ENROL_MIN_QUALITY, ENROL_QUALITY_FLOOR and a range of dominant-face ratios (0 = the rule off, the gate before issue 29).
 * Analyses (boxes and quality of every face, no pixels or embeddings) are cached under data/enrol-gate.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { AppError } from '../src/shared/errors';
import { createFaceEngine, engineConfigFrom } from '../src/platform/face/face-engine';
import { decideEnrolment, dominance, type EnrolGateRules, type GateFace } from '../src/modules/gallery/enrolment-gate';
import { lfwDevRoot } from './lib/lfw';
import { analyseCached } from './lib/analysis-cache';

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    every: { type: 'string', default: '10' },
    workers: { type: 'string', default: String(Math.min(2, os.cpus().length)) },
    ratios: { type: 'string', default: '0,1.5,2,2.5,3,4,6' },
    out: { type: 'string' },
  },
});

interface Cached {
  width: number;
  height: number;
  faces: GateFace[];
}

const config = loadConfig();
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function selection(): string[] {
  const root = path.join(lfwDevRoot(ROOT), 'lfw-deepfunneled');
  const people = fs.readdirSync(root).sort();
  const every = Number(args.every);
  const out: string[] = [];
  for (let i = 0; i < people.length; i += every) {
    const first = fs.readdirSync(path.join(root, people[i]!)).filter((f) => f.endsWith('.jpg')).sort()[0];
    if (first) out.push(path.join('lfw-deepfunneled', people[i]!, first));
  }
  return out;
}

function analyseAll(files: string[]): Promise<Map<string, Cached | null>> {
  return analyseCached<Cached>({
    name: 'enrol-gate',
    files,
    cacheFile: path.join(ROOT, 'data/enrol-gate', `${config.face.model}.json`),
    workers: Number(args.workers),
    open: () => createFaceEngine({ ...engineConfigFrom(config), workers: Number(args.workers), queueLimit: 1_000_000 }),
    analyse: async (engine, f) => {
      const a = await engine.analyze(fs.readFileSync(path.join(lfwDevRoot(ROOT), f)));
      return { width: a.width, height: a.height, faces: a.faces.map((x) => ({ box: x.box, quality: { score: round(x.quality.score, 4), issues: x.quality.issues } })) };
    },
  });
}

/** The gate's verdict as the API would answer: 'enrolled', 'enrolled (dominant)', or the error code (LOW_QUALITY split by overrulable). */
function verdict(a: Cached | null, rules: EnrolGateRules, acceptQuality = false): string {
  if (!a) return 'UNREADABLE';
  try {
    const d = decideEnrolment(a.faces, rules, { acceptQuality });
    return d.qualityOverruled ? `enrolled, overruled (${d.by})` : d.by === 'dominant' ? 'enrolled (dominant)' : 'enrolled';
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    if (e.code === 'LOW_QUALITY') return (e.details as { overrulable?: boolean }).overrulable ? 'LOW_QUALITY (overrulable)' : 'LOW_QUALITY (under the floor)';
    return e.code;
  }
}

async function main() {
  const files = selection();
  const analysed = await analyseAll(files);
  const base = { minQuality: config.matching.enrolMinQuality, floorQuality: config.matching.enrolQualityFloor };
  const ratios = args.ratios!.split(',').map(Number);
  const count = (rules: EnrolGateRules, accept: boolean) => {
    const c: Record<string, number> = {};
    for (const f of files) {
      const v = verdict(analysed.get(f)!, rules, accept);
      c[v] = (c[v] ?? 0) + 1;
    }
    return c;
  };
  const byRatio = ratios.map((r) => ({ dominantRatio: r, verdicts: count({ ...base, dominantRatio: r }, false), withAcceptQuality: count({ ...base, dominantRatio: r }, true) }));

  // The photos with several faces: the largest face's area over the next one's, and whether the next one touches the frame.
  const multi = files
    .map((f) => ({ f, a: analysed.get(f)! }))
    .filter((x) => x.a && x.a.faces.length > 1)
    .map(({ f, a }) => {
      const sorted = [...a!.faces].sort((p, q) => q.box.width * q.box.height - p.box.width * p.box.height);
      const s = sorted[1]!.box;
      const edge = s.x <= 1 || s.y <= 1 || s.x + s.width >= a!.width - 1 || s.y + s.height >= a!.height - 1;
      return { file: f, faces: a!.faces.length, ratio: round(dominance(a!.faces), 2), secondTouchesEdge: edge, secondQuality: sorted[1]!.quality.score };
    })
    .sort((p, q) => p.ratio - q.ratio);
  const ratiosSorted = multi.map((m) => m.ratio);
  const pct = (p: number) => ratiosSorted[Math.min(ratiosSorted.length - 1, Math.floor(p * ratiosSorted.length))];

  const report = {
    model: config.face.model,
    photos: files.length,
    rules: { ...base, dominantRatioConfigured: config.matching.enrolDominantRatio },
    byRatio,
    multiFace: {
      photos: multi.length,
      dominanceRatio: { min: ratiosSorted[0], p10: pct(0.1), p25: pct(0.25), median: pct(0.5), p75: pct(0.75), max: ratiosSorted.at(-1) },
      secondTouchesEdge: multi.filter((m) => m.secondTouchesEdge).length,
      under3: multi.filter((m) => m.ratio < 3),
    },
  };
  const json = JSON.stringify(report, null, 2);
  if (args.out) fs.writeFileSync(args.out, json);
  process.stdout.write(json + '\n');
}

main().catch((e) => {
  process.stderr.write(`enrol-gate: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
