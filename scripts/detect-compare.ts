/**
 * Detection on multi-face photos, detector against detector (a measurement, not a test; figures in docs/ACCURACY.md):
 *
 *   npm run detect-compare -- [--datasets ../shared/datasets] [--out /tmp/detections]
 *
 * Photos: face-api's six demo group photos (always present), and from the datasets folder when present: deepface's couple and
 * group selfie, dlib's PASCAL VOC photos (with annotated face boxes: matched at IoU ≥ 0.3 to count hits, misses and false
 * detections), face_recognition's group photos. Detectors: the ONNX default (UltraFace, coarse to fine: detection-plan.ts),
 * the same with detail=small-faces (every level on every tile: the plan every search ran before coarse to fine; the script
 * lists the faces it finds that the default does not), the same UltraFace on the whole image only (one run, what a naive use
 * of the 320x240 net does), YuNet (yunet-mfn512, coarse to fine), and face-api's SSD-MobileNetV1
 * (the tfjs models). Also a CCTV-like scene made from the demo photos' faces pasted small on a large frame (40/56/80 px
 * wide; hit = a detection centred in a pasted face). With --out, each photo is written with every detector's boxes drawn, to check misses and false
 * detections by eye. Prints a Markdown table and a JSON summary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { AnalyzeOptions, Box } from '../src/shared/face.types';
import { createInProcessFaceEngine } from '../src/platform/face/face-engine';
import { countHits, faceFreeBackground, smallFacesScene } from './lib/small-faces-scene';

const { values: args } = parseArgs({
  options: {
    datasets: { type: 'string', default: path.resolve(__dirname, '../../shared/datasets') },
    out: { type: 'string' },
  },
});

interface Photo {
  name: string;
  file: string;
  truth?: Box[];
}

function photos(): Photo[] {
  const demo = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  const list: Photo[] = [1, 2, 3, 4, 5, 6].map((n) => ({ name: `face-api sample${n}`, file: path.join(demo, `sample${n}.jpg`) }));
  const root = args.datasets!;
  if (!fs.existsSync(root)) {
    process.stderr.write(`detect-compare: ${root} is absent; only face-api's demo photos are measured\n`);
    return list;
  }
  for (const f of ['couple.jpg', 'selfie-many-people.jpg']) list.push({ name: `deepface ${f}`, file: path.join(root, 'deepface', f) });
  const dlib = path.join(root, 'dlib_faces');
  const truth = new Map<string, Box[]>();
  for (const xml of ['training.xml', 'testing.xml']) {
    const text = fs.readFileSync(path.join(dlib, xml), 'latin1');
    for (const m of text.matchAll(/<image file='([^']+)'[^>]*>([\s\S]*?)<\/image>/g)) {
      const boxes = [...m[2]!.matchAll(/<box top='(\d+)' left='(\d+)' width='(\d+)' height='(\d+)'/g)].map((b) => ({
        y: Number(b[1]),
        x: Number(b[2]),
        width: Number(b[3]),
        height: Number(b[4]),
      }));
      truth.set(m[1]!, boxes);
    }
  }
  for (const f of fs.readdirSync(dlib).filter((n) => n.endsWith('.jpg')).sort()) {
    list.push({ name: `dlib ${f}`, file: path.join(dlib, f), truth: truth.get(f) });
  }
  const fr = path.join(root, 'face_recognition_examples');
  for (const f of ['other_examples/two_people.jpg', 'knn_examples/test/kit_with_rose.jpg', 'knn_examples/test/obama_and_biden.jpg']) {
    list.push({ name: `face_recognition ${path.basename(f)}`, file: path.join(fr, f) });
  }
  return list.filter((p) => fs.existsSync(p.file));
}

function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / (a.width * a.height + b.width * b.height - w * h);
}

/** Greedy one-to-one matching at IoU ≥ 0.3 (annotation boxes are tighter than detector boxes). */
function score(found: Box[], truth: Box[]) {
  const used = new Set<number>();
  let hits = 0;
  for (const t of truth) {
    let best = -1;
    let bestIou = 0.3;
    found.forEach((f, i) => {
      const v = iou(f, t);
      if (!used.has(i) && v >= bestIou) {
        best = i;
        bestIou = v;
      }
    });
    if (best >= 0) {
      used.add(best);
      hits++;
    }
  }
  return { hits, misses: truth.length - hits, falseDetections: found.length - hits };
}

const COLOURS = ['#00c853', '#d500f9', '#ffab00', '#ff1744', '#2979ff'];

async function draw(file: string, width: number, height: number, sets: Box[][], truth: Box[] | undefined, out: string) {
  const rects = sets.flatMap((boxes, k) =>
    boxes.map((b) => `<rect x="${b.x}" y="${b.y}" width="${b.width}" height="${b.height}" fill="none" stroke="${COLOURS[k]}" stroke-width="${Math.max(2, width / 400) / (k + 1)}"/>`),
  );
  const truthRects = (truth ?? []).map((b) => `<rect x="${b.x}" y="${b.y}" width="${b.width}" height="${b.height}" fill="none" stroke="#ffffff" stroke-dasharray="4 3" stroke-width="1.5"/>`);
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${[...truthRects, ...rects].join('')}</svg>`);
  await sharp(file).rotate().composite([{ input: svg }]).jpeg({ quality: 85 }).toFile(out);
}

async function main() {
  const limits = { maxPixels: 50_000_000, maxBytes: 50 * 1024 * 1024 };
  const ultraface = await createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: 'ultraface-mfn512@fp0.0.1' });
  const detectors: { name: string; engine: typeof ultraface; options?: AnalyzeOptions }[] = [
    { name: 'ultraface coarse to fine (default)', engine: ultraface },
    { name: 'ultraface every level (detail=small-faces)', engine: ultraface, options: { detail: 'small-faces' } },
    { name: 'ultraface whole image', engine: await createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: 'ultraface-mfn512@fp0.0.1', minFacePx: 1000 }) },
    { name: 'yunet coarse to fine (yunet-mfn512)', engine: await createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: 'yunet-mfn512@fp0.0.1' }) },
    { name: 'ssd-mobilenetv1 (face-api)', engine: await createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: 'faceapi-ssd-r34-128@1.7.15' }) },
  ];
  /** Faces the every-level plan (the plan before coarse to fine) finds that the default does not (IoU < 0.5 with all of them). */
  const missedByDefault: string[] = [];
  const compareDefault = (photo: string, sets: Box[][]) => {
    const [ours, every] = [sets[0]!, sets[1]!];
    const missed = every.filter((b) => !ours.some((o) => iou(o, b) >= 0.5));
    if (missed.length) missedByDefault.push(`${photo}: ${missed.length}`);
  };
  if (args.out) fs.mkdirSync(args.out, { recursive: true });
  const rows: Record<string, unknown>[] = [];
  const totals = detectors.map(() => ({ faces: 0, hits: 0, misses: 0, falseDetections: 0, ms: 0 }));
  for (const p of photos()) {
    const buf = fs.readFileSync(p.file);
    const sets: Box[][] = [];
    const row: Record<string, unknown> = { photo: p.name, annotated: p.truth?.length ?? null };
    for (const [k, d] of detectors.entries()) {
      const t0 = performance.now();
      const r = await d.engine.analyze(buf, d.options);
      const ms = performance.now() - t0;
      const boxes = r.faces.map((f) => f.box);
      sets.push(boxes);
      const s = p.truth ? score(boxes, p.truth) : null;
      row[d.name] = s ? `${boxes.length} (${s.hits} hit, ${s.misses} missed, ${s.falseDetections} false)` : `${boxes.length}`;
      totals[k]!.faces += boxes.length;
      totals[k]!.ms += ms;
      if (s) {
        totals[k]!.hits += s.hits;
        totals[k]!.misses += s.misses;
        totals[k]!.falseDetections += s.falseDetections;
      }
      if (k === 0) row.size = `${r.width}x${r.height}`;
    }
    rows.push(row);
    compareDefault(p.name, sets);
    if (args.out) {
      const meta = await sharp(buf).rotate().metadata();
      const w = meta.autoOrient?.width ?? meta.width!;
      const h = meta.autoOrient?.height ?? meta.height!;
      await draw(p.file, w, h, sets, p.truth, path.join(args.out, `${p.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.jpg`));
    }
  }
  // Small faces in a large frame (CCTV-like): every face of the six demo photos, 56 px wide, on a 2400x1600 softened background.
  const demo = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  const crops: Buffer[] = [];
  for (const n of [1, 2, 3, 4, 5, 6]) {
    const photo = fs.readFileSync(path.join(demo, `sample${n}.jpg`));
    for (const f of (await detectors[0]!.engine.analyze(photo)).faces) {
      const m = 0.25;
      const meta = await sharp(photo).metadata();
      const left = Math.max(0, Math.round(f.box.x - f.box.width * m));
      const top = Math.max(0, Math.round(f.box.y - f.box.height * m));
      const width = Math.min(meta.width! - left, Math.round(f.box.width * (1 + 2 * m)));
      const height = Math.min(meta.height! - top, Math.round(f.box.height * (1 + 2 * m)));
      crops.push(await sharp(photo).extract({ left, top, width, height }).jpeg().toBuffer());
    }
  }
  // The same with one face 400 px wide beside the small ones (a person near the camera): the whole-image look finds it.
  const scenes = [
    ...[40, 56, 80].map((faceWidth) => ({ faceWidth, portrait: false })),
    { faceWidth: 56, portrait: true },
  ];
  for (const { faceWidth, portrait } of scenes) {
    const scene = await smallFacesScene(await faceFreeBackground(demo), portrait ? crops.slice(1) : crops, { faceWidth, ...(portrait ? { portrait: crops[0] } : {}) });
    const meta = await sharp(scene.image).metadata();
    const name = portrait ? `scene: 1 face 400 px + ${scene.boxes.length} faces ${faceWidth} px` : `scene: ${crops.length} faces ${faceWidth} px wide`;
    const row: Record<string, unknown> = { photo: name, size: `${meta.width}x${meta.height}`, annotated: scene.boxes.length };
    const truth = portrait ? [...scene.boxes, scene.portraitBox!] : scene.boxes;
    const sets: Box[][] = [];
    for (const [k, d] of detectors.entries()) {
      const t0 = performance.now();
      const boxes = (await d.engine.analyze(scene.image, d.options)).faces.map((f) => f.box);
      totals[k]!.ms += performance.now() - t0;
      sets.push(boxes);
      const hits = countHits(boxes, truth);
      row[d.name] = `${boxes.length} (${hits} hit, ${truth.length - hits} missed, ${boxes.length - hits} false)`;
      totals[k]!.faces += boxes.length;
      totals[k]!.hits += hits;
      totals[k]!.misses += truth.length - hits;
      totals[k]!.falseDetections += boxes.length - hits;
    }
    rows.push(row);
    compareDefault(row.photo as string, sets);
    if (args.out) {
      const file = path.join(args.out, `scene-${faceWidth}${portrait ? '-portrait' : ''}`);
      fs.writeFileSync(`${file}.src.jpg`, scene.image);
      await draw(`${file}.src.jpg`, meta.width!, meta.height!, sets, truth, `${file}.jpg`);
    }
  }

  const names = detectors.map((d) => d.name);
  const lines = [
    `| photo | size | annotated faces | ${names.join(' | ')} |`,
    `|---|---|---|${names.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.photo} | ${r.size} | ${r.annotated ?? '–'} | ${names.map((n) => r[n]).join(' | ')} |`),
    `| **total** | | | ${totals.map((t) => `${t.faces} (annotated: ${t.hits} hit, ${t.misses} missed, ${t.falseDetections} false)`).join(' | ')} |`,
    `| ms per photo (in-process, one thread) | | | ${totals.map((t) => Math.round(t.ms / rows.length)).join(' | ')} |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`faces the every-level plan finds and the default does not: ${missedByDefault.length ? missedByDefault.join('; ') : 'none'}\n`);
  process.stdout.write(`${JSON.stringify({ detectors: names, totals, missedByDefault })}\n`);
  if (args.out) process.stderr.write(`detect-compare: annotated photos in ${args.out} (green: ONNX default, magenta: ONNX every level, amber: ONNX whole image, red: YuNet, blue: SSD; dashed white: annotation)\n`);
  for (const e of new Set(detectors.map((d) => d.engine))) await e.close();
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
