/**
 * Detection on multi-face photos, detector against detector (a measurement, not a test):
 *
 *   npm run detect-compare -- [--datasets ../shared/datasets] [--out /tmp/detections]
 *
 * Photos: face-api's six demo group photos (always present), and from the datasets folder when present: deepface's couple and
 * group selfie, dlib's PASCAL VOC photos (with annotated face boxes: matched at IoU ≥ 0.3 to count hits, misses and false
 * detections), face_recognition's group photos. Detectors: the ONNX default (UltraFace over the tiled multi-scale plan), the
 * same UltraFace on the whole image only (one run, what a naive use of the 320x240 net does), and face-api's SSD-MobileNetV1
 * (the tfjs models). Also a CCTV-like scene made from the demo photos' faces pasted small on a large frame (40/56/80 px
 * wide; hit = a detection centred in a pasted face). With --out, each photo is written with every detector's boxes drawn, to check misses and false
 * detections by eye. Prints a Markdown table and a JSON summary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { Box } from '../src/domain/face.types';
import { createInProcessFaceEngine } from '../src/infra/face/face-engine';
import { smallFacesScene } from './lib/small-faces-scene';

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

/** The lower part of demo photo 2 (a sofa, legs, a phone): real photo texture with no face in it. */
export async function faceFreeBackground(demo: string): Promise<Buffer> {
  const photo = path.join(demo, 'sample2.jpg');
  const meta = await sharp(photo).metadata();
  const top = Math.round(meta.height! * 0.62);
  return sharp(photo).extract({ left: 0, top, width: meta.width!, height: meta.height! - top }).jpeg().toBuffer();
}

const COLOURS = ['#00c853', '#ffab00', '#2979ff'];

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
  const detectors = [
    { name: 'ultraface tiled (default)', engine: await createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: 'ultraface-mfn512@fp0.0.1' }) },
    { name: 'ultraface whole image', engine: await createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: 'ultraface-mfn512@fp0.0.1', minFacePx: 1000 }) },
    { name: 'ssd-mobilenetv1 (face-api)', engine: await createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: 'faceapi-ssd-r34-128@1.7.15' }) },
  ];
  if (args.out) fs.mkdirSync(args.out, { recursive: true });
  const rows: Record<string, unknown>[] = [];
  const totals = detectors.map(() => ({ faces: 0, hits: 0, misses: 0, falseDetections: 0, ms: 0 }));
  for (const p of photos()) {
    const buf = fs.readFileSync(p.file);
    const sets: Box[][] = [];
    const row: Record<string, unknown> = { photo: p.name, annotated: p.truth?.length ?? null };
    for (const [k, d] of detectors.entries()) {
      const t0 = performance.now();
      const r = await d.engine.analyze(buf);
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
  for (const faceWidth of [40, 56, 80]) {
    const scene = await smallFacesScene(await faceFreeBackground(demo), crops, { faceWidth });
    const row: Record<string, unknown> = { photo: `scene: ${crops.length} faces ${faceWidth} px wide in 2400x1600`, size: '2400x1600', annotated: crops.length };
    const sets: Box[][] = [];
    for (const [k, d] of detectors.entries()) {
      const t0 = performance.now();
      const boxes = (await d.engine.analyze(scene.image)).faces.map((f) => f.box);
      totals[k]!.ms += performance.now() - t0;
      sets.push(boxes);
      // A hit: a detection whose centre lies in a pasted crop (the crop has a margin around its face), one per crop.
      const used = new Set<number>();
      let hits = 0;
      for (const t of scene.boxes) {
        const i = boxes.findIndex((b, j) => !used.has(j) && b.x + b.width / 2 > t.x && b.x + b.width / 2 < t.x + t.width && b.y + b.height / 2 > t.y && b.y + b.height / 2 < t.y + t.height);
        if (i >= 0) {
          used.add(i);
          hits++;
        }
      }
      row[d.name] = `${boxes.length} (${hits} hit, ${scene.boxes.length - hits} missed, ${boxes.length - hits} false)`;
      totals[k]!.faces += boxes.length;
      totals[k]!.hits += hits;
      totals[k]!.misses += scene.boxes.length - hits;
      totals[k]!.falseDetections += boxes.length - hits;
    }
    rows.push(row);
    if (args.out) {
      fs.writeFileSync(path.join(args.out, `scene-${faceWidth}.src.jpg`), scene.image);
      await draw(path.join(args.out, `scene-${faceWidth}.src.jpg`), 2400, 1600, sets, scene.boxes, path.join(args.out, `scene-${faceWidth}.jpg`));
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
  process.stdout.write(`${JSON.stringify({ detectors: names, totals })}\n`);
  if (args.out) process.stderr.write(`detect-compare: annotated photos in ${args.out} (green: ONNX tiled, amber: ONNX whole image, blue: SSD; dashed white: annotation)\n`);
  for (const d of detectors) await d.engine.close();
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
