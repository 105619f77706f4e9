/**
 * Speed measurements (not assertions; figures in docs/BENCHMARKS.md): `npm run bench [-- --gallery 20000 --probes 40 --database-url postgres://…]`.
 *
 * 1. HTTP: p50/p95 of sequential single-face searches through the whole service (decode → detect → landmarks → align →
 *    embed → kNN → audit → store), and of group photos (face-api's 1920 px samples, 3-6 faces), on PGlite and, with
 *    --database-url, on PostgreSQL.
 * 2. Throughput: probes/s with as many concurrent clients as workers, each searching the probe set in turn.
 * 3. The peer: face-api's README pipeline on the main thread (detectAllFaces → withFaceLandmarks → withFaceDescriptors →
 *    FaceMatcher.findBestMatch, tfjs WASM), on the same probe photos, and the service's throughput over it.
 * 4. kNN alone: HNSW query time with a gallery of synthetic unit vectors (--gallery N), with and without a watchlist filter.
 * Probe photos: single-face crops of face-api's demo photos, or with --lfw <dir> (LFW's deep-funneled folder) its first
 * --probes images, or with --photos <dir> (a flat folder of camera photos, e.g. ../shared/datasets/deepface) the first
 * --probes of its identities.csv (or its image files in name order when it has none). Group photos: face-api's demo photos
 * 1–6, and with --datasets <dir> also the group photos of its deepface and face_recognition_examples sets, timed apart.
 * Prints a JSON report (with the load average before and after each part); docs/BENCHMARKS.md records the figures with
 * this command.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import sharp from 'sharp';
import request from 'supertest';
import { compose } from '../src/compose';
import type { Metrics } from '../src/platform/http/metrics';
import { hostileCanvases } from './lib/hostile-canvases';
import { loadConfig } from '../src/config';
import { createFaceEngine } from '../src/platform/face/face-engine';
import { readManifest } from '../src/platform/face/model-manifest';
import type { Db } from '../src/shared/db';
import { createFaceRepo } from '../src/modules/gallery/face.repo';
import { migrate } from '../src/platform/db/migrate';
import { openDb } from '../src/platform/db/open';
import { toVectorParam } from '../src/platform/db/db';
import fs from 'node:fs';
import path from 'node:path';

const { values } = parseArgs({
  options: {
    gallery: { type: 'string', default: '20000' },
    probes: { type: 'string', default: '40' },
    lfw: { type: 'string' },
    photos: { type: 'string' },
    datasets: { type: 'string' },
    'skip-peer': { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    workers: { type: 'string', default: String(os.cpus().length) },
    /** Template size for the kNN part (default: the configured model's). */
    dims: { type: 'string' },
  },
});
const GALLERY = Number(values.gallery);
const PROBES = Number(values.probes);
const WORKERS = Number(values.workers);
const DIMS = Number(values.dims ?? readManifest(loadConfig({ ...process.env, LOG_LEVEL: 'silent' }).face.model).embeddingSize);
const BENCH_MODEL = `bench-${DIMS}`;
const SAMPLES = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};
const stats = (xs: number[]) => ({ n: xs.length, p50: pct(xs, 50), p95: pct(xs, 95), max: pct(xs, 100) });
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function unitVectors(n: number, dims: number, seed: number): number[][] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32 - 0.5);
  return Array.from({ length: n }, () => {
    const v = Array.from({ length: dims }, rnd);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

async function seedGallery(db: Db, n: number) {
  const t0 = process.hrtime.bigint();
  // Watchlists are records since migration 0040: a large one and a 5 % one, both owned by organization `bench`.
  const watchlists = [randomUUID(), randomUUID()];
  await db.query(
    `INSERT INTO watchlist (id, organization, name, jurisdiction, legal_basis) VALUES ($1, 'bench', 'wl-large', 'n/a', 'benchmark'), ($2, 'bench', 'wl-small', 'n/a', 'benchmark')`,
    watchlists,
  );
  const batch = 500;
  for (let i = 0; i < n; i += batch) {
    const vs = unitVectors(Math.min(batch, n - i), DIMS, 1000 + i);
    const subjectIds = vs.map(() => randomUUID());
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO subject (id, display_name, category, watchlist_id, legal_basis, organization)
         SELECT id, 'synthetic', 'other', CASE WHEN random() < 0.05 THEN $2::uuid ELSE $3::uuid END, 'benchmark', 'bench' FROM unnest($1::uuid[]) AS id`,
        [subjectIds, watchlists[1], watchlists[0]],
      );
      await tx.query(
        `INSERT INTO face (id, subject_id, model_id, embedding, quality, box)
         SELECT gen_random_uuid(), s, $3, e::vector, '{}', '{}' FROM unnest($1::uuid[], $2::text[]) AS t(s, e)`,
        [subjectIds, vs.map(toVectorParam), BENCH_MODEL],
      );
    });
  }
  return ms(t0);
}

async function knnBench(db: Db) {
  const smallWatchlist = (await db.query<{ id: string }>("SELECT id FROM watchlist WHERE organization = 'bench' AND name = 'wl-small'")).rows[0]!.id;
  const faces = createFaceRepo();
  const probes = unitVectors(50, DIMS, 7);
  const run = async (watchlistIds?: string[]) => {
    const times: number[] = [];
    for (const p of probes) {
      const t0 = process.hrtime.bigint();
      await db.transaction((tx) => faces.nearestSubjects(tx, { embedding: p, modelId: BENCH_MODEL, topK: 20, scope: { organization: 'bench', mode: 'investigative', at: new Date(), watchlistIds } }));
      times.push(ms(t0));
    }
    return stats(times);
  };
  const plan = await db.transaction(async (tx) => {
    await tx.query("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)");
    const r = await tx.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM face WHERE vector_dims(embedding) = ${DIMS} AND model_id = $2
        ORDER BY embedding::vector(${DIMS}) <=> $1::vector(${DIMS}) LIMIT 100`,
      [toVectorParam(probes[0]!), BENCH_MODEL],
    );
    return r.rows.map((x) => x['QUERY PLAN']).join('\n');
  });
  return { dims: DIMS, usesHnsw: new RegExp(`face_embedding_${DIMS}_hnsw`).test(plan), unfiltered: await run(), filteredToSmallWatchlist: await run([smallWatchlist]) };
}

async function httpBench(db: Db, label: string) {
  // A throw-away image key: the scratch database is dropped afterwards (PostgreSQL deployments must configure one).
  const config = loadConfig({
    FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ...process.env,
    LOG_LEVEL: 'silent',
    DATA_DIR: 'memory://',
    FACE_WORKERS: String(WORKERS),
  });
  await migrate(db);
  const system = await compose({ config, db, logger: pino({ level: 'silent' }) });
  const tLoad = process.hrtime.bigint();
  const engine = await system.startEngine();
  const loadMs = ms(tLoad);
  const admin = { keyId: 'bench', roles: ['admin' as const], organization: '*' };
  const enroller = `Bearer ${(await system.keys.create(admin, { roles: ['enroller'], organization: 'fiu' })).key}`;
  const searcher = `Bearer ${(await system.keys.create(admin, { roles: ['searcher'], organization: 'bank' })).key}`;

  // Enrol the largest face of each sample photo, then probe with single-face crops of those photos (or LFW photos).
  const crops: Buffer[] = [];
  for (const n of [1, 2, 3, 4, 5, 6]) {
    const photo = fs.readFileSync(path.join(SAMPLES, `sample${n}.jpg`));
    const s = await request(system.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: `S${n}`, category: 'fraud', watchlist: 'bench', legalBasis: 'bench' });
    const { faces, width, height } = await engine.analyze(photo);
    const b = faces[0]!.box;
    const m = 0.4;
    const left = Math.max(0, Math.round(b.x - b.width * m));
    const top = Math.max(0, Math.round(b.y - b.height * m));
    const crop = await sharp(photo)
      .extract({ left, top, width: Math.min(width - left, Math.round(b.width * (1 + 2 * m))), height: Math.min(height - top, Math.round(b.height * (1 + 2 * m))) })
      .jpeg({ quality: 90 })
      .toBuffer();
    crops.push(crop);
    await request(system.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', crop, 'c.jpg');
  }
  const search = (img: Buffer) =>
    request(system.app).post('/v1/searches').set('Authorization', searcher).attach('image', img, 'p.jpg').field('purpose', 'benchmark').field('caseRef', 'BENCH');
  const probes = probeSet(crops);

  // Warm-up: the first searches pay for lazily created arenas, prepared plans and JIT.
  for (const p of probes.slice(0, 4)) await search(p);
  const loadBefore = load();
  const cpu0 = process.cpuUsage();
  const single: number[] = [];
  for (const p of probes) {
    const t0 = process.hrtime.bigint();
    const r = await search(p);
    if (r.status !== 200 && r.status !== 422) throw new Error(`search failed: ${r.status} ${JSON.stringify(r.body)}`);
    single.push(ms(t0));
  }
  const cpuSingle = cpuMs(cpu0) / probes.length;
  const loadAfterSingle = load();
  const group: number[] = [];
  const groupFaces: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t0 = process.hrtime.bigint();
    const r = await search(fs.readFileSync(path.join(SAMPLES, `sample${(i % 6) + 1}.jpg`)));
    group.push(ms(t0));
    groupFaces.push(r.body.faces?.length ?? 0);
  }
  // The datasets' group photos, each twice.
  const datasetGroup = datasetGroupPhotos().map((f) => fs.readFileSync(f));
  const dsGroup: number[] = [];
  const dsGroupFaces: number[] = [];
  for (let i = 0; i < 2 * datasetGroup.length; i++) {
    const t0 = process.hrtime.bigint();
    const r = await search(datasetGroup[i % datasetGroup.length]!);
    dsGroup.push(ms(t0));
    if (i < datasetGroup.length) dsGroupFaces.push(r.body.faces?.length ?? 0);
  }
  // Throughput: as many clients as workers, each taking the next probe until the set is done (twice over).
  const queue = [...probes, ...probes];
  const cpuPar0 = process.cpuUsage();
  const tPar = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let p = queue.shift(); p; p = queue.shift()) await search(p);
    }),
  );
  const parMs = ms(tPar);
  const cpuPar = cpuMs(cpuPar0) / (probes.length * 2);
  const loadAfterThroughput = load();
  const stages = await stageTimes(system.metrics);
  // Hostile canvases within the limits: answer time and the process's peak RSS growth while each is handled.
  const hostile: Record<string, unknown>[] = [];
  for (const [name, img] of await hostileCanvases(fs.readFileSync(path.join(SAMPLES, 'sample2.jpg')))) {
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const t0 = process.hrtime.bigint();
    const r = await search(img);
    const took = ms(t0);
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    hostile.push({ name, status: r.status, code: r.body?.error?.code ?? null, faces: r.body?.faces?.length ?? null, ms: Math.round(took), rssGrowthMb: Math.round((peak - before) / 2 ** 20) });
  }
  await system.close();
  return {
    database: label,
    model: engine.model.id,
    modelLoadAndWarmupMs: Math.round(loadMs),
    probes: probes.length,
    singleFaceSearchMs: stats(single),
    // CPU time of this process (every thread: HTTP, decode, workers, PGlite) per search: steadier than wall time on a shared
    // machine; CPUs ÷ it bounds the throughput the same work reaches with the machine to itself.
    cpuMsPerSearch: { sequential: Math.round(cpuSingle * 10) / 10, throughput: Math.round(cpuPar * 10) / 10, boundProbesPerSecond: Math.round((os.availableParallelism() * 10000) / cpuPar) / 10 },
    loadAverage: { beforeSingle: loadBefore, afterSingle: loadAfterSingle, afterThroughput: loadAfterThroughput },
    groupPhotoSearchMs: { ...stats(group), facesPerPhoto: groupFaces.slice(0, 6) },
    ...(datasetGroup.length ? { datasetGroupPhotoSearchMs: { ...stats(dsGroup), facesPerPhoto: dsGroupFaces } } : {}),
    throughput: { clients: WORKERS, workers: WORKERS, searches: probes.length * 2, totalMs: Math.round(parMs), probesPerSecond: Math.round(((probes.length * 2) / parMs) * 1000 * 10) / 10 },
    meanStageMs: stages,
    hostile,
    crops,
  };
}

/** The probe photos: --lfw's first --probes images (one face each, 250x250), --photos' first --probes, else the crops cycled. */
function probeSet(crops: Buffer[]): Buffer[] {
  if (values.lfw) {
    const files = fs.readdirSync(values.lfw).sort().flatMap((d) => {
      const dir = path.join(values.lfw!, d);
      return fs.statSync(dir).isDirectory() ? fs.readdirSync(dir).sort().map((f) => path.join(dir, f)) : [];
    });
    return files.slice(0, PROBES).map((f) => fs.readFileSync(f));
  }
  if (values.photos) return photoFiles(values.photos).slice(0, PROBES).map((f) => fs.readFileSync(f));
  return Array.from({ length: PROBES }, (_, i) => crops[i % crops.length]!);
}

/** A flat photo folder's files: its identities.csv's `image` column in file order, or its images in name order. */
function photoFiles(dir: string): string[] {
  const ids = path.join(dir, 'identities.csv');
  if (fs.existsSync(ids)) {
    const [header, ...rows] = fs.readFileSync(ids, 'utf8').trim().split(/\r?\n/).map((l) => l.split(','));
    const col = header!.indexOf('image');
    return rows.map((r) => path.join(dir, r[col]!));
  }
  return fs.readdirSync(dir).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort().map((f) => path.join(dir, f));
}

/** Group photos of the datasets folder (--datasets), those that exist: 2–6 people each, 600–2,280 px. */
function datasetGroupPhotos(): string[] {
  if (!values.datasets) return [];
  const list = [
    'deepface/couple.jpg',
    'deepface/selfie-many-people.jpg',
    'face_recognition_examples/other_examples/two_people.jpg',
    'face_recognition_examples/knn_examples/test/kit_with_rose.jpg',
    'face_recognition_examples/knn_examples/test/obama_and_biden.jpg',
  ].map((f) => path.join(values.datasets!, f));
  const found = list.filter((f) => fs.existsSync(f));
  if (found.length < list.length) process.stderr.write(`bench: ${list.length - found.length} dataset group photos absent under ${values.datasets}\n`);
  return found;
}

const load = () => os.loadavg().map((l) => Math.round(l * 100) / 100);
const cpuMs = (from: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1000;
};

/** Mean seconds per image of each inference stage, from /metrics' facematch_inference_seconds (ms). */
async function stageTimes(metrics: Metrics) {
  const m = metrics.registry.getSingleMetric('facematch_inference_seconds');
  if (!m) return null;
  const v = (await m.get()).values as { labels: Record<string, string | number>; value: number; metricName?: string }[];
  const out: Record<string, number> = {};
  for (const stage of ['decode', 'detect', 'landmarks', 'align', 'embed']) {
    const sum = v.find((x) => x.metricName === 'facematch_inference_seconds_sum' && x.labels.stage === stage)?.value ?? 0;
    const count = v.find((x) => x.metricName === 'facematch_inference_seconds_count' && x.labels.stage === stage)?.value ?? 0;
    if (count) out[stage] = Math.round((sum / count) * 10000) / 10;
  }
  return out;
}

/**
 * The peer: face-api's README pipeline as a user would write it, on the main thread (tfjs WASM, SSD-MobileNetV1 + 68
 * landmarks + 128-d descriptor, FaceMatcher over the same enrolled crops), on the same probe photos, sequentially.
 */
async function naiveFaceApi(crops: Buffer[]) {
  const { initFaceRuntime } = await import('../src/platform/face/backend');
  const { readVerifiedWeights } = await import('../src/platform/face/model-manifest');
  const rt = await initFaceRuntime('wasm');
  const { tf, faceapi } = rt;
  for (const net of readVerifiedWeights(readManifest('faceapi-ssd-r34-128@1.7.15'))) {
    const joined = Buffer.concat(net.shards);
    const specs = net.weightsManifest.flatMap((g) => g.weights) as Parameters<typeof tf.io.decodeWeights>[1];
    const map = tf.io.decodeWeights(joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength), specs);
    (faceapi.nets as unknown as Record<string, { loadFromWeightMap(m: unknown): void }>)[net.name]!.loadFromWeightMap(map);
  }
  const toTensor = async (img: Buffer) => {
    const { data, info } = await sharp(img).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return tf.tensor3d(data, [info.height, info.width, 3], 'int32');
  };
  const describeAll = async (img: Buffer) => {
    const t = await toTensor(img);
    try {
      return await faceapi.detectAllFaces(t as never).withFaceLandmarks().withFaceDescriptors();
    } finally {
      t.dispose();
    }
  };
  const labelled = [];
  for (const [i, c] of crops.entries()) {
    const d = (await describeAll(c))[0];
    if (d) labelled.push(new faceapi.LabeledFaceDescriptors(`S${i + 1}`, [d.descriptor]));
  }
  const matcher = new faceapi.FaceMatcher(labelled, 0.6);
  const probes = probeSet(crops);
  for (const p of probes.slice(0, 4)) await describeAll(p);
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const p of probes) {
    const t1 = process.hrtime.bigint();
    for (const r of await describeAll(p)) matcher.findBestMatch(r.descriptor);
    times.push(ms(t1));
  }
  const total = ms(t0);
  return { loadAverage: load(), cpuMsPerProbe: Math.round((cpuMs(cpu0) / probes.length) * 10) / 10, pipeline: 'face-api README (SSD + landmarks + descriptor + FaceMatcher), main thread, tfjs-wasm', probeMs: stats(times), probesPerSecond: Math.round((probes.length / total) * 1000 * 10) / 10 };
}

/** A throw-away database on the given server (never the one named in the URL), dropped when closed. */
async function scratchPostgres(url: string): Promise<Db> {
  const name = `facematch_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = await openDb({ url: u.toString(), dataDir: '' });
  return {
    ...db,
    async close() {
      await db.close();
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function main() {
  const report: Record<string, unknown> = { machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version }, workers: WORKERS };
  const targets: { label: string; open: () => Promise<Db> }[] = [{ label: 'pglite', open: () => openDb({ dataDir: 'memory://' }) }];
  if (values['database-url']) targets.push({ label: 'postgres', open: () => scratchPostgres(values['database-url']!) });

  let crops: Buffer[] = [];
  for (const t of targets) {
    const db = await t.open();
    try {
      const http = await httpBench(db, t.label);
      crops = http.crops;
      delete (http as { crops?: Buffer[] }).crops;
      report[`http_${t.label}`] = http;
      const seedMs = await seedGallery(db, GALLERY);
      await db.exec('ANALYZE');
      report[`knn_${t.label}`] = { gallery: GALLERY, seedMs: Math.round(seedMs), ...(await knnBench(db)) };
    } finally {
      await db.close();
    }
    process.stderr.write(`done: ${t.label} ${JSON.stringify({ http: report[`http_${t.label}`], knn: report[`knn_${t.label}`] })}\n`);
  }
  if (!values['skip-peer']) {
    const peer = await naiveFaceApi(crops);
    const http = report.http_pglite as { throughput: { probesPerSecond: number }; cpuMsPerSearch: { boundProbesPerSecond: number } };
    const ours = http.throughput.probesPerSecond;
    // The same ratio from CPU time (the peer is one thread: 1000 / its CPU per probe is its rate on a machine to itself).
    const byCpu = http.cpuMsPerSearch.boundProbesPerSecond / (1000 / peer.cpuMsPerProbe);
    report.peer = { ...peer, serviceOverPeer: Math.round((ours / peer.probesPerSecond) * 10) / 10, serviceOverPeerByCpu: Math.round(byCpu * 10) / 10 };
    process.stderr.write(`done: peer ${JSON.stringify(report.peer)}\n`);
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
