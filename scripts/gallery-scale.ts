/**
 * Gallery at scale (a measurement, not a test; issue 14): bulk load, HNSW build and kNN search over N 512-d templates made
 * from real face embeddings, through the repository's real kNN statement (figures in docs/SCALING.md, "Gallery at
 * scale").
 *
 *   npm run gallery-scale -- --database-url postgres://postgres@127.0.0.1:5432/postgres --gallery 100000 [--out report.json]
 *   npm run gallery-scale -- --backend pglite --gallery 20000
 *
 * Templates: the LFW dev images (--lfw, default ../shared/datasets/lfw-dev) embedded once with the default engine and cached
 * under --cache (default data/gallery-scale, outside git). Synthetic identities are mixtures of three real templates plus a
 * little Gaussian noise; each identity's faces add a real within-identity residual (the difference between a real LFW photo
 * and its identity's mean) and noise, renormalised, so same-identity and different-identity cosine distributions follow the
 * real ones (the report prints both). 1,000 held-out queries: half a fresh face of an enrolled identity (mated), half a face
 * of an identity not enrolled.
 * Exact top-k in Node (Float32Array dot products over the whole gallery and over each filtered scope) is the ground truth for
 * recall@k and rank-1 agreement; it is cached under --cache too.
 *
 * PostgreSQL: creates and drops its own scratch database, runs the real migrations, COPYs (binary) into `face`, builds each
 * index in --builds (kind:m:ef_construction, e.g. vector:16:64,halfvec:16:64) with --maintenance-work-mem and 2 parallel
 * maintenance workers, then times nearestSubjects at each --ef-search, and the filtered scopes (a watchlist with 1 % and 5 %
 * of the subjects) through the HNSW statement (iterative scan) and through the repository's exact path for small scopes
 * (btree face_scope_idx, then sort), and what the scope count adds to a whole-gallery search. Latency includes the transaction round trips the service makes (BEGIN, settings, query,
 * COMMIT). Figures on a shared machine are inflated by other load; recall does not depend on load.
 * PGlite: same flow with batched INSERT instead of COPY (one WASM process, no parallel build).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Db, Queryable } from '../src/shared/db';
import { type KnnQuery } from '../src/modules/gallery/gallery.model';
import { createFaceRepo, knnSqlFor, knnStatement } from '../src/modules/gallery/face.repo';
import { migrate } from '../src/platform/db/migrate';
import { wasmDir } from '../src/platform/face/backend';
import { createPgliteDb } from '../src/platform/db/pglite.db';
import { createPostgresDb } from '../src/platform/db/postgres.db';
import { loadLfwTemplates } from './lib/lfw-templates';

const { values: args } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    backend: { type: 'string', default: 'postgres' },
    gallery: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '1000' },
    lfw: { type: 'string', default: path.resolve(__dirname, '../../shared/datasets/lfw-dev') },
    cache: { type: 'string', default: path.resolve(__dirname, '../data/gallery-scale') },
    builds: { type: 'string', default: 'halfvec:16:64,vector:16:64' },
    'ef-search': { type: 'string', default: '40,64,100,200,400' },
    'filtered-ef-search': { type: 'string', default: '' },
    'top-k': { type: 'string', default: '10' },
    'maintenance-work-mem': { type: 'string', default: '4GB' },
    'parallel-workers': { type: 'string', default: '2' },
    seed: { type: 'string', default: '20261130' },
    out: { type: 'string' },
    'skip-filtered': { type: 'boolean', default: false },
    'exact-scope-max': { type: 'string', default: '5000' },
    /** Queries for the filtered-scope measurements (the first n of --queries): filtered HNSW is slow, at 1M this keeps it in time. */
    'filtered-queries': { type: 'string' },
    /** Stop after the cosine distributions (for fitting the synthesis knobs: --synth residual=1,faceNoise=0.01). */
    'distributions-only': { type: 'boolean', default: false },
    synth: { type: 'string' },
  },
});

const N = Number(args.gallery);
const Q = Number(args.queries);
const TOP_K = Number(args['top-k']);
const SEED = Number(args.seed);
const DIMS = 512;
const EXACT_SCOPE_MAX = Number(args['exact-scope-max']);
const MODEL = 'gallery-scale-512';
/** Faces kept per query and scope for the exact ground truth: enough to hold TOP_K distinct subjects (≤ 5 faces each). */
const KEEP = Math.max(64, TOP_K * 6);
const log = (s: string) => process.stderr.write(`gallery-scale: ${s}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const stats = (xs: number[]) => ({ p50: round(pct(xs, 50)), p95: round(pct(xs, 95)), p99: round(pct(xs, 99)), mean: round(xs.reduce((a, b) => a + b, 0) / xs.length) });
const report: Record<string, unknown> = { command: `gallery-scale ${process.argv.slice(2).join(' ')}`, startedAt: new Date().toISOString(), host: { cpus: os.cpus().length, memGiB: round(os.totalmem() / 2 ** 30, 1), loadavg: os.loadavg().map((x) => round(x)) } };
const save = () => {
  if (args.out) fs.writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
};

// ---------------------------------------------------------------- synthetic templates

/** mulberry32: small, seedable, fast. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gauss(r: () => number) {
  return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}
function normalise(v: Float32Array) {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const k = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! *= k;
  return v;
}
function dot(a: Float32Array, b: Float32Array, bOff = 0) {
  let s = 0;
  for (let i = 0; i < DIMS; i++) s += a[i]! * b[bOff + i]!;
  return s;
}
const mix32 = (a: number, b: number) => Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) ^ (b >>> 3);

/** Synthesis knobs (fitted once so the synthetic cosine distributions sit on the real ones; printed in the report). */
const SYNTH: Record<'components' | 'centreNoise' | 'residual' | 'residualSpread' | 'faceNoise', number> = { components: 2, centreNoise: 0.2, residual: 1.05, residualSpread: 0.45, faceNoise: 0.012 };
for (const kv of args.synth?.split(',') ?? []) {
  const [k, v] = kv.split('=');
  if (!(k! in SYNTH)) throw new Error(`--synth: unknown knob ${k}`);
  SYNTH[k as keyof typeof SYNTH] = Number(v);
}

interface Source {
  real: Float32Array[];
  residuals: Float32Array[];
}

function identityCentre(src: Source, id: number): Float32Array {
  const r = rng(mix32(SEED, id));
  const c = new Float32Array(DIMS);
  for (let k = 0; k < SYNTH.components; k++) {
    const t = src.real[Math.floor(r() * src.real.length)]!;
    const w = -Math.log(r() || 1e-12); // Dirichlet(1) weights up to scale
    for (let i = 0; i < DIMS; i++) c[i]! += w * t[i]!;
  }
  normalise(c);
  const tau = SYNTH.centreNoise / Math.sqrt(DIMS);
  for (let i = 0; i < DIMS; i++) c[i]! += tau * gauss(r);
  return normalise(c);
}

/** Face `j` of identity `id`: centre + a real within-identity residual + noise, renormalised. Written into `out` at `off`. */
function identityFace(src: Source, centre: Float32Array, id: number, j: number, out: Float32Array, off: number) {
  const r = rng(mix32(mix32(SEED, id), j + 1));
  const res = src.residuals[Math.floor(r() * src.residuals.length)]!;
  const sigma = SYNTH.faceNoise;
  // Lognormal scale: some photos of a person are far from the others (pose, age, light), as in the real pairs.
  const scale = SYNTH.residual * Math.exp(SYNTH.residualSpread * gauss(r));
  let s = 0;
  for (let i = 0; i < DIMS; i++) {
    const x = centre[i]! + scale * res[i]! + sigma * gauss(r);
    out[off + i] = x;
    s += x * x;
  }
  const k = 1 / Math.sqrt(s);
  for (let i = 0; i < DIMS; i++) out[off + i]! *= k;
}

const CHUNK = 65536;
interface Gallery {
  n: number;
  subjects: number;
  chunks: Float32Array[];
  faceSubject: Int32Array;
  /** 0 = main watchlist, 1 = the 1 % watchlist, 2 = the 5 % watchlist. */
  subjectList: Uint8Array;
}
const row = (g: Gallery, i: number): [Float32Array, number] => [g.chunks[Math.floor(i / CHUNK)]!, (i % CHUNK) * DIMS];

function makeGallery(src: Source, n: number): Gallery {
  const chunks: Float32Array[] = [];
  for (let i = 0; i < n; i += CHUNK) chunks.push(new Float32Array(Math.min(CHUNK, n - i) * DIMS));
  const faceSubject = new Int32Array(n);
  const lists: number[] = [];
  let f = 0;
  let s = 0;
  const pick = rng(mix32(SEED, -1));
  while (f < n) {
    // 1–5 faces per subject (mean 3), each subject on one watchlist: 1 % and 5 % of the subjects on the two small ones.
    const faces = Math.min(n - f, 1 + Math.floor(pick() * 5));
    const u = pick();
    lists.push(u < 0.01 ? 1 : u < 0.06 ? 2 : 0);
    const c = identityCentre(src, s);
    for (let j = 0; j < faces; j++, f++) {
      const [chunk, off] = row({ chunks } as Gallery, f);
      identityFace(src, c, s, j, chunk, off);
      faceSubject[f] = s;
    }
    s++;
  }
  return { n, subjects: s, chunks, faceSubject, subjectList: Uint8Array.from(lists) };
}

interface Query {
  v: Float32Array;
  /** The enrolled subject this is a fresh face of, or -1 (non-mated). */
  mate: number;
}
function makeQueries(src: Source, g: Gallery, q: number): Query[] {
  const r = rng(mix32(SEED, -2));
  return Array.from({ length: q }, (_, i) => {
    const v = new Float32Array(DIMS);
    if (i % 2 === 0) {
      const id = Math.floor(r() * g.subjects);
      identityFace(src, identityCentre(src, id), id, 1000 + i, v, 0); // face 1000+i: never enrolled
      return { v, mate: id };
    }
    const id = g.subjects + 1_000_000 + i; // an identity beyond the gallery
    identityFace(src, identityCentre(src, id), id, 0, v, 0);
    return { v, mate: -1 };
  });
}

function describe(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.reduce((a, b) => a + b, 0) / s.length;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - m) ** 2, 0) / s.length);
  const p = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))]!, 3);
  return { n: s.length, mean: round(m, 3), sd: round(sd, 3), p01: p(0.01), p50: p(0.5), p99: p(0.99), p999: p(0.999) };
}

/** Same-identity and different-identity cosine similarity, real LFW vs synthetic. */
function distributions(lfw: { identities: string[]; vectors: Float32Array[] }, src: Source, g: Gallery) {
  const byId = new Map<string, number[]>();
  lfw.identities.forEach((id, i) => byId.set(id, [...(byId.get(id) ?? []), i]));
  const realSame: number[] = [];
  for (const ix of byId.values()) for (let a = 0; a < ix.length; a++) for (let b = a + 1; b < ix.length; b++) realSame.push(dot(lfw.vectors[ix[a]!]!, lfw.vectors[ix[b]!]!));
  const r = rng(mix32(SEED, -3));
  const realDiff: number[] = [];
  while (realDiff.length < 200_000) {
    const a = Math.floor(r() * lfw.vectors.length);
    const b = Math.floor(r() * lfw.vectors.length);
    if (lfw.identities[a] !== lfw.identities[b]) realDiff.push(dot(lfw.vectors[a]!, lfw.vectors[b]!));
  }
  const synSame: number[] = [];
  for (let i = 1; i < g.n && synSame.length < 50_000; i++) {
    if (g.faceSubject[i] === g.faceSubject[i - 1]) {
      const [ca, oa] = row(g, i - 1);
      const [cb, ob] = row(g, i);
      synSame.push(dot(ca.subarray(oa, oa + DIMS), cb, ob));
    }
  }
  const synDiff: number[] = [];
  while (synDiff.length < 200_000) {
    const a = Math.floor(r() * g.n);
    const b = Math.floor(r() * g.n);
    if (g.faceSubject[a] === g.faceSubject[b]) continue;
    const [ca, oa] = row(g, a);
    const [cb, ob] = row(g, b);
    synDiff.push(dot(ca.subarray(oa, oa + DIMS), cb, ob));
  }
  void src;
  return { real: { same: describe(realSame), different: describe(realDiff) }, synthetic: { same: describe(synSame), different: describe(synDiff) } };
}

// ---------------------------------------------------------------- exact ground truth

type Scope = 'all' | 'wl1' | 'wl5';
const SCOPES: Scope[] = ['all', 'wl1', 'wl5'];
/** Per query and scope: the exact top-k subject indices, nearest first. */
type Truth = Record<Scope, Int32Array[]>;

/**
 * Exact search as matrix products on tfjs's WebAssembly backend (SIMD GEMM; plain JavaScript loops would take well over an hour
 * for 1M × 1,000 on this shared box): all queries × a slice of the scope's rows, the top KEEP faces of each slice per query,
 * merged across slices, then each subject's best face.
 */
async function exactTopK(g: Gallery, queries: Query[]): Promise<Truth> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmDir());
  await tf.setBackend('wasm');
  const qm = tf.tensor2d(Float32Array.from(queries.flatMap((q) => Array.from(q.v))), [queries.length, DIMS]);
  const out = {} as Truth;
  const t0 = performance.now();
  for (const [sc, k] of SCOPES.map((x, i) => [x, i] as const)) {
    const rows: number[] | null = k === 0 ? null : [];
    if (rows) for (let i = 0; i < g.n; i++) if (g.subjectList[g.faceSubject[i]!] === k) rows.push(i);
    const total = rows ? rows.length : g.n;
    const best = queries.map(() => ({ s: [] as number[], id: [] as number[] }));
    const SLICE = 16384;
    for (let r0 = 0; r0 < total; r0 += SLICE) {
      const n = Math.min(SLICE, total - r0);
      // Laid out transposed (DIMS × n) here: tfjs-wasm's matMul with transposeB is ~10× slower than the plain product.
      const slice = new Float32Array(n * DIMS);
      for (let r = 0; r < n; r++) {
        const [chunk, off] = row(g, rows ? rows[r0 + r]! : r0 + r);
        for (let d = 0; d < DIMS; d++) slice[d * n + r] = chunk[off + d]!;
      }
      const [vals, idx] = tf.tidy(() => {
        const top = tf.topk(tf.matMul(qm, tf.tensor2d(slice, [DIMS, n])), Math.min(KEEP, n));
        return [top.values, top.indices];
      });
      const v = vals!.dataSync();
      const ix = idx!.dataSync();
      vals!.dispose();
      idx!.dispose();
      const kk = Math.min(KEEP, n);
      for (let j = 0; j < queries.length; j++) {
        const b = best[j]!;
        const merged: Array<[number, number]> = b.s.map((x, m) => [x, b.id[m]!]);
        for (let m = 0; m < kk; m++) merged.push([v[j * kk + m]!, rows ? rows[r0 + ix[j * kk + m]!]! : r0 + ix[j * kk + m]!]);
        merged.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
        b.s = merged.slice(0, KEEP).map((x) => x[0]);
        b.id = merged.slice(0, KEEP).map((x) => x[1]);
      }
    }
    out[sc] = best.map((b) => {
      const seen = new Set<number>();
      const subjects: number[] = [];
      for (const f of b.id) {
        const s = g.faceSubject[f]!;
        if (seen.has(s)) continue;
        seen.add(s);
        subjects.push(s);
        if (subjects.length === TOP_K) break;
      }
      return Int32Array.from(subjects);
    });
    log(`exact search, scope ${sc} (${total} templates): ${round((performance.now() - t0) / 1000, 1)} s`);
  }
  qm.dispose();
  return out;
}

// ---------------------------------------------------------------- database

const subjectUuid = (s: number) => `00000000-0000-4000-8000-${s.toString(16).padStart(12, '0')}`;
const faceUuid = (f: number) => `00000000-0000-4000-9000-${f.toString(16).padStart(12, '0')}`;
const subjectIndex = (uuid: string) => parseInt(uuid.slice(24), 16);
const WL = ['00000000-0000-4000-a000-000000000000', '00000000-0000-4000-a000-000000000001', '00000000-0000-4000-a000-000000000005'];

async function seedSubjects(db: Db, g: Gallery) {
  await db.query(
    `INSERT INTO watchlist (id, organization, name, jurisdiction, legal_basis) VALUES ($1, 'fiu', 'gallery', 'n/a', 'scale'), ($2, 'fiu', 'one-percent', 'n/a', 'scale'), ($3, 'fiu', 'five-percent', 'n/a', 'scale')`,
    WL,
  );
  for (let s = 0; s < g.subjects; s += 10_000) {
    const ids = Array.from({ length: Math.min(10_000, g.subjects - s) }, (_, k) => s + k);
    await db.query(
      `INSERT INTO subject (id, display_name, category, watchlist_id, legal_basis, organization)
       SELECT id, 'synthetic', 'other', w, 'scale', 'fiu' FROM unnest($1::uuid[], $2::uuid[]) AS t(id, w)`,
      [ids.map(subjectUuid), ids.map((i) => WL[g.subjectList[i]!]!)],
    );
  }
}

const uuidBytes = (u: string) => Buffer.from(u.replace(/-/g, ''), 'hex');
const JSONB_EMPTY = Buffer.from([1, 0x7b, 0x7d]); // jsonb binary: version 1, then the text '{}'

/** COPY … FROM STDIN (FORMAT binary) through psql: the fastest path into PostgreSQL without an extra npm dependency. */
async function copyFaces(url: string, g: Gallery) {
  const child = spawn('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', '\\copy face (id, subject_id, model_id, embedding, quality, box) FROM STDIN WITH (FORMAT binary)'], { stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => child.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`psql COPY exited ${c}`)))));
  const write = (b: Buffer) => (child.stdin.write(b) ? Promise.resolve() : new Promise<void>((r) => child.stdin.once('drain', () => r())));
  await write(Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]));
  const model = Buffer.from(MODEL);
  const rowLen = 2 + (4 + 16) * 2 + 4 + model.length + 4 + 4 + DIMS * 4 + (4 + 3) * 2;
  const BATCH = 2048;
  for (let i0 = 0; i0 < g.n; i0 += BATCH) {
    const n = Math.min(BATCH, g.n - i0);
    const buf = Buffer.alloc(rowLen * n);
    let o = 0;
    for (let i = i0; i < i0 + n; i++) {
      o = buf.writeInt16BE(6, o);
      o = buf.writeInt32BE(16, o);
      o += uuidBytes(faceUuid(i)).copy(buf, o);
      o = buf.writeInt32BE(16, o);
      o += uuidBytes(subjectUuid(g.faceSubject[i]!)).copy(buf, o);
      o = buf.writeInt32BE(model.length, o);
      o += model.copy(buf, o);
      o = buf.writeInt32BE(4 + DIMS * 4, o);
      o = buf.writeInt16BE(DIMS, o);
      o = buf.writeInt16BE(0, o);
      const [chunk, off] = row(g, i);
      for (let d = 0; d < DIMS; d++) o = buf.writeFloatBE(chunk[off + d]!, o);
      for (let k = 0; k < 2; k++) {
        o = buf.writeInt32BE(3, o);
        o += JSONB_EMPTY.copy(buf, o);
      }
    }
    await write(buf);
  }
  await write(Buffer.from([0xff, 0xff]));
  child.stdin.end();
  await done;
}

/** PGlite has no COPY FROM STDIN through our Db seam: batched INSERT … unnest, the way a bulk loader would use it. */
async function insertFaces(db: Db, g: Gallery) {
  const vec = (i: number) => {
    const [chunk, off] = row(g, i);
    return `[${Array.from(chunk.subarray(off, off + DIMS)).join(',')}]`;
  };
  for (let i0 = 0; i0 < g.n; i0 += 1000) {
    const ix = Array.from({ length: Math.min(1000, g.n - i0) }, (_, k) => i0 + k);
    await db.query(
      `INSERT INTO face (id, subject_id, model_id, embedding, quality, box)
       SELECT f, s, $4, e::vector, '{}', '{}' FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(f, s, e)`,
      [ix.map(faceUuid), ix.map((i) => subjectUuid(g.faceSubject[i]!)), ix.map(vec), MODEL],
    );
  }
}

const relSize = async (db: Queryable, rel: string) => Number((await db.query<{ n: string }>('SELECT pg_relation_size($1::regclass)::text AS n', [rel])).rows[0]!.n);
const mb = (b: number) => round(b / 2 ** 20, 1);

interface Build {
  kind: 'vector' | 'halfvec';
  m: number;
  efConstruction: number;
}

async function buildIndex(db: Db, b: Build) {
  const cast = b.kind === 'vector' ? 'vector(512)' : 'halfvec(512)';
  return db.session(async (conn) => {
    await conn.exec('DROP INDEX IF EXISTS face_embedding_512_hnsw');
    if (db.kind === 'postgres') {
      await conn.query(`SELECT set_config('maintenance_work_mem', $1, false), set_config('max_parallel_maintenance_workers', $2, false)`, [args['maintenance-work-mem']!, args['parallel-workers']!]);
    }
    const t = performance.now();
    await conn.exec(`CREATE INDEX face_embedding_512_hnsw ON face USING hnsw ((embedding::${cast}) ${b.kind}_cosine_ops)
      WITH (m = ${b.m}, ef_construction = ${b.efConstruction}) WHERE vector_dims(embedding) = 512`);
    const ms = performance.now() - t;
    if (db.kind === 'postgres') await conn.exec('RESET maintenance_work_mem; RESET max_parallel_maintenance_workers');
    return { buildSeconds: round(ms / 1000, 1), indexMB: mb(await relSize(conn, 'face_embedding_512_hnsw')) };
  });
}

/** The repository's HNSW statement (face.repo) written for the index type being measured, with its parameters and settings. */
async function runKnn(db: Db, kind: Build['kind'], q: KnnQuery, efSearch: number) {
  const { params, efSearch: ef } = knnStatement(q, { efSearch });
  return db.transaction(async (tx) => {
    await tx.query("SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)", [String(ef)]);
    const r = await tx.query<{ subject_id: string }>(knnSqlFor(DIMS, kind), params);
    return r.rows.map((x) => ({ subjectId: x.subject_id }));
  });
}

async function measure(db: Db, label: string, queries: Query[], truth: Int32Array[], run: (q: Query) => Promise<{ subjectId: string }[]>) {
  const times: number[] = [];
  let recall = 0;
  let rank1 = 0;
  let returned = 0;
  let mated = 0;
  let matedFirst = 0;
  for (const q of queries.slice(0, 20)) await run(q); // warm-up
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i]!;
    const t = performance.now();
    const rows = await run(q);
    times.push(performance.now() - t);
    const got = rows.map((r) => subjectIndex(r.subjectId));
    const want = truth[i]!;
    const w = new Set(want);
    recall += got.slice(0, TOP_K).filter((s) => w.has(s)).length / Math.max(1, want.length);
    if (got[0] === want[0]) rank1++;
    returned += rows.length;
    if (q.mate >= 0 && want.includes(q.mate)) {
      mated++;
      if (got[0] === q.mate) matedFirst++;
    }
  }
  const r = { ms: stats(times), recallAt10: round(recall / queries.length, 4), rank1Agreement: round(rank1 / queries.length, 4), meanReturned: round(returned / queries.length, 2), matedInExactTop: mated, matedAtRank1: mated ? round(matedFirst / mated, 4) : null };
  log(`${label}: p50 ${r.ms.p50} ms p95 ${r.ms.p95} ms p99 ${r.ms.p99} ms, recall@${TOP_K} ${r.recallAt10}, rank-1 ${r.rank1Agreement}, returned ${r.meanReturned}`);
  void db;
  return r;
}

async function main() {
  const lfw = await loadLfwTemplates(args.lfw!, args.cache!, log);
  if (!lfw) {
    log(`skipped: no LFW images under ${args.lfw} (pass --lfw <folder with Name/Name_NNNN.jpg>)`);
    return;
  }
  // Within-identity residuals of the real templates (photo minus its identity's mean, scaled for the mean's own noise).
  const byId = new Map<string, Float32Array[]>();
  lfw.identities.forEach((id, i) => byId.set(id, [...(byId.get(id) ?? []), lfw.vectors[i]!]));
  const residuals: Float32Array[] = [];
  for (const vs of byId.values()) {
    if (vs.length < 2) continue;
    const mean = new Float32Array(DIMS);
    for (const v of vs) for (let d = 0; d < DIMS; d++) mean[d]! += v[d]! / vs.length;
    const k = Math.sqrt(vs.length / (vs.length - 1));
    for (const v of vs) residuals.push(Float32Array.from(v, (x, d) => (x - mean[d]!) * k));
  }
  const src: Source = { real: lfw.vectors, residuals };
  report.templates = { model: lfw.modelId, lfwImagesEmbedded: lfw.vectors.length, lfwIdentities: byId.size, residuals: residuals.length, synthesis: SYNTH };

  let t = performance.now();
  const g = makeGallery(src, N);
  const queries = makeQueries(src, g, Q);
  const wlCount = [0, 0, 0];
  for (let i = 0; i < g.n; i++) wlCount[g.subjectList[g.faceSubject[i]!]!]!++;
  report.gallery = { templates: g.n, subjects: g.subjects, generateSeconds: round((performance.now() - t) / 1000, 1), onePercentWatchlist: wlCount[1], fivePercentWatchlist: wlCount[2], queries: Q, mated: queries.filter((q) => q.mate >= 0).length, topK: TOP_K };
  report.cosine = distributions(lfw, src, g);
  log(`gallery: ${g.n} templates, ${g.subjects} subjects; cosine ${JSON.stringify(report.cosine)}`);
  save();
  if (args['distributions-only']) return;

  const key = createHash('sha256').update(JSON.stringify({ N, Q, TOP_K, SEED, SYNTH, KEEP, lfw: lfw.files.length, first: Array.from(lfw.vectors[0]!.slice(0, 4)) })).digest('hex').slice(0, 16);
  const truthFile = path.join(args.cache!, `truth-${N}-${key}.json`);
  let truth: Truth;
  if (fs.existsSync(truthFile)) {
    const j = JSON.parse(fs.readFileSync(truthFile, 'utf8')) as Record<Scope, number[][]>;
    truth = Object.fromEntries(SCOPES.map((s) => [s, j[s].map((x) => Int32Array.from(x))])) as Truth;
  } else {
    t = performance.now();
    truth = await exactTopK(g, queries);
    report.exactSearchSeconds = round((performance.now() - t) / 1000, 1);
    fs.mkdirSync(args.cache!, { recursive: true });
    fs.writeFileSync(truthFile, JSON.stringify(Object.fromEntries(SCOPES.map((s) => [s, truth[s].map((x) => Array.from(x))]))));
  }
  save();

  const backend = args.backend!;
  let db: Db;
  let url: string | null = null;
  let dropDb = async () => undefined as void;
  if (backend === 'pglite') {
    db = await createPgliteDb('memory://');
  } else {
    const base = args['database-url'] ?? process.env.DATABASE_URL;
    if (!base) throw new Error('--database-url (a PostgreSQL with pgvector ≥ 0.8) is required for --backend postgres');
    const name = `facematch_gallery_scale_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(base);
    u.pathname = `/${name}`;
    url = u.toString();
    db = await createPostgresDb(url, 2);
    dropDb = async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    };
    log(`scratch database ${name}`);
  }
  try {
    await migrate(db);
    const setting = async (s: string) => (await db.query<{ v: string }>('SELECT current_setting($1) AS v', [s])).rows[0]!.v;
    report.database = {
      backend,
      version: await setting('server_version'),
      pgvector: (await db.query<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'")).rows[0]!.v,
      sharedBuffers: await setting('shared_buffers'),
      effectiveCacheSize: await setting('effective_cache_size'),
      maintenanceWorkMem: backend === 'postgres' ? args['maintenance-work-mem'] : await setting('maintenance_work_mem'),
      parallelMaintenanceWorkers: backend === 'postgres' ? Number(args['parallel-workers']) : 0,
    };
    // A bulk load builds the HNSW index afterwards: inserting into an existing graph row by row is far slower.
    await db.exec('DROP INDEX face_embedding_512_hnsw');
    t = performance.now();
    await seedSubjects(db, g);
    const subjectsSeconds = round((performance.now() - t) / 1000, 1);
    t = performance.now();
    if (url) await copyFaces(url, g);
    else await insertFaces(db, g);
    const loadSeconds = round((performance.now() - t) / 1000, 1);
    t = performance.now();
    await db.exec('VACUUM ANALYZE face');
    const vacuumSeconds = round((performance.now() - t) / 1000, 1);
    report.load = {
      method: url ? 'COPY FROM STDIN (binary), face_watchlist_on_write trigger on, btree indexes on, no HNSW' : 'INSERT … unnest, 1000 rows a statement',
      subjectsSeconds,
      faceSeconds: loadSeconds,
      facesPerSecond: Math.round(g.n / loadSeconds),
      vacuumAnalyzeSeconds: vacuumSeconds,
      heapMB: mb(await relSize(db, 'face')),
      toastMB: mb(Number((await db.query<{ n: string }>("SELECT coalesce(pg_relation_size(reltoastrelid), 0)::text AS n FROM pg_class WHERE relname = 'face'")).rows[0]!.n)),
      btreeMB: { face_pkey: mb(await relSize(db, 'face_pkey')), face_subject_idx: mb(await relSize(db, 'face_subject_idx')), face_model_idx: mb(await relSize(db, 'face_model_idx')) },
    };
    log(`load ${JSON.stringify(report.load)}`);
    save();

    const scope = (ids?: string[]): KnnQuery['scope'] => ({ organization: 'fiu', mode: 'investigative', at: new Date(), ...(ids ? { watchlistIds: ids } : {}) });
    const knn = (q: Query, ids?: string[]): KnnQuery => ({ embedding: Array.from(q.v), modelId: MODEL, topK: TOP_K, scope: scope(ids) });
    const efs = args['ef-search']!.split(',').map(Number);
    const builds: Build[] = args.builds!.split(',').map((b) => {
      const [kind, m, efc] = b.split(':');
      return { kind: kind as Build['kind'], m: Number(m), efConstruction: Number(efc) };
    });
    const results: Record<string, unknown>[] = [];
    report.builds = results;
    for (const b of builds) {
      log(`building ${b.kind} m=${b.m} ef_construction=${b.efConstruction} …`);
      const built = await buildIndex(db, b);
      const r: Record<string, unknown> = { ...b, ...built, search: {} };
      results.push(r);
      log(`built in ${built.buildSeconds} s, ${built.indexMB} MB`);
      save();
      const plan = await db.transaction(async (tx) => {
        const { params } = knnStatement(knn(queries[0]!));
        return (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${knnSqlFor(DIMS, b.kind)}`, params)).rows.map((x) => x['QUERY PLAN']).join('\n');
      });
      r.usesHnsw = plan.includes('face_embedding_512_hnsw');
      for (const ef of efs) {
        (r.search as Record<string, unknown>)[`ef${ef}`] = await measure(db, `${b.kind} m${b.m} efc${b.efConstruction} ef_search ${ef}`, queries, truth.all, (q) => runKnn(db, b.kind, knn(q), ef));
        save();
      }
      // Filtered scopes: with one build only (the strategies compare there; other builds change the graph, not them), the
      // first of the index type face.repo uses for 512-d (its whole-gallery statement runs in the scope-count measurement).
      if (b === (builds.find((x) => x.kind === 'halfvec') ?? builds[0]) && !args['skip-filtered']) {
        const filtered: Record<string, unknown> = {};
        r.filtered = filtered;
        const fEfs = (args['filtered-ef-search'] || String(efs[Math.min(2, efs.length - 1)])).split(',').map(Number);
        const fq = Number(args['filtered-queries'] ?? Q);
        const fQueries = queries.slice(0, fq);
        const fTruth = (sc: Scope) => truth[sc].slice(0, fq);
        filtered.queries = fq;
        for (const [sc, wl] of [['wl1', WL[1]!], ['wl5', WL[2]!]] as const) {
          for (const ef of fEfs) {
            filtered[`${sc}_iterative_ef${ef}`] = await measure(db, `${sc} iterative scan ef_search ${ef}`, fQueries, fTruth(sc), (q) => runKnn(db, b.kind, knn(q, [wl]), ef));
            save();
          }
        }
        // The repository's exact path for small scopes (btree face_scope_idx, migration 0052), forced on.
        const exact = createFaceRepo({ exactScopeMax: 1_000_000_000 });
        for (const [sc, wl] of [['wl1', WL[1]!], ['wl5', WL[2]!]] as const) {
          filtered[`${sc}_exact`] = await measure(db, `${sc} exact scope scan`, fQueries, fTruth(sc), (q) => db.transaction((tx) => exact.nearestSubjects(tx, knn(q, [wl]))));
          save();
        }
        // What the scope count costs a whole-gallery search (it stops at exactScopeMax + 1 rows, then HNSW runs).
        if (b.kind === 'halfvec') {
          const counted = createFaceRepo({ efSearch: fEfs[0], exactScopeMax: EXACT_SCOPE_MAX });
          filtered[`all_with_scope_count_ef${fEfs[0]}`] = await measure(db, `whole gallery with scope count (exactScopeMax ${EXACT_SCOPE_MAX}) ef_search ${fEfs[0]}`, fQueries, fTruth('all'), (q) =>
            db.transaction((tx) => counted.nearestSubjects(tx, knn(q))),
          );
          save();
        }
      }
    }
    report.finishedAt = new Date().toISOString();
    report.loadavgAtEnd = os.loadavg().map((x) => round(x));
    save();
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await db.close();
    await dropDb();
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
