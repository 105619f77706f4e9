/**
 * Filtered-search timing (a measurement, not a test; figures in docs/BENCHMARKS.md): kNN over the whole gallery vs a 5 % watchlist, on PostgreSQL, through the
 * repository's real query (access scope inside the statement, per-row filter, HNSW iterative scan).
 *
 *   npx tsx scripts/watchlist-knn-timing.ts --database-url postgres://postgres@127.0.0.1:5432/postgres [--gallery 20000 --dims 512 --probes 50]
 *
 * Creates and drops a scratch database. Templates are seeded unit vectors; half the probes are noisy copies of an enrolled
 * template (mated), half are fresh vectors. Scopes measured, all with topK = 20:
 *   whole   — the owner searching its whole gallery;
 *   named   — the owner naming the 5 % watchlist (`watchlists=`);
 *   granted — a partner whose only grant is the 5 % watchlist (scope from the grant alone).
 * Prints p50/p95/max in ms, how many results came back, recall@20 against an exact scan of the same scope (fresh random
 * probes have no real neighbours in 512-d, so their exact top-20 is nearly a tie and pulls this down), and how often a mated
 * probe whose source is in scope finds that subject at rank 1.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { toVectorParam } from '../src/platform/db/db';
import { type KnnScope } from '../src/modules/gallery/gallery.model';
import { createFaceRepo } from '../src/modules/gallery/face.repo';
import { migrate } from '../src/platform/db/migrate';
import { createPostgresDb } from '../src/platform/db/postgres.db';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    gallery: { type: 'string', default: '20000' },
    dims: { type: 'string', default: '512' },
    probes: { type: 'string', default: '50' },
    share: { type: 'string', default: '0.05' },
  },
});
const URL_ = values['database-url'] ?? process.env.DATABASE_URL;
if (!URL_) throw new Error('--database-url (a PostgreSQL with pgvector ≥ 0.8) is required');
const N = Number(values.gallery);
const DIMS = Number(values.dims);
const PROBES = Number(values.probes);
const SHARE = Number(values.share);
const MODEL = `timing-${DIMS}`;
const TOP_K = 20;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32 - 0.5);
}
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const round = (x: number) => Math.round(x * 100) / 100;

async function main() {
  const name = `facematch_knn_timing_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(URL_!);
  url.pathname = `/${name}`;
  const db = await createPostgresDb(url.toString(), 2);
  try {
    await migrate(db);
    const big = randomUUID();
    const small = randomUUID();
    await db.query(
      `INSERT INTO watchlist (id, organization, name, jurisdiction, legal_basis) VALUES ($1, 'fiu', 'gallery', 'n/a', 'timing'), ($2, 'fiu', 'small', 'n/a', 'timing')`,
      [big, small],
    );
    await db.query(`INSERT INTO watchlist_grant (id, watchlist_id, organization, access) VALUES ($1, $2, 'bank', 'search')`, [randomUUID(), small]);

    const rnd = rng(20261130);
    const templates: Array<{ subjectId: string; watchlist: string; v: number[] }> = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i += 500) {
      const batch = Array.from({ length: Math.min(500, N - i) }, () => ({
        subjectId: randomUUID(),
        watchlist: rnd() + 0.5 < SHARE ? small : big,
        v: unit(Array.from({ length: DIMS }, rnd)),
      }));
      templates.push(...batch);
      await db.query(
        `INSERT INTO subject (id, display_name, category, watchlist_id, legal_basis, organization)
         SELECT id, 'synthetic', 'other', w, 'timing', 'fiu' FROM unnest($1::uuid[], $2::uuid[]) AS t(id, w)`,
        [batch.map((b) => b.subjectId), batch.map((b) => b.watchlist)],
      );
      await db.query(
        `INSERT INTO face (id, subject_id, model_id, embedding, quality, box)
         SELECT gen_random_uuid(), s, $3, e::vector, '{}', '{}' FROM unnest($1::uuid[], $2::text[]) AS t(s, e)`,
        [batch.map((b) => b.subjectId), batch.map((b) => toVectorParam(b.v)), MODEL],
      );
    }
    // The index a 512-d model gets (a migration adds it in the real schema); built here after loading if this schema lacks it.
    await db.exec(`CREATE INDEX IF NOT EXISTS face_embedding_${DIMS}_hnsw ON face USING hnsw ((embedding::vector(${DIMS})) vector_cosine_ops)
      WHERE vector_dims(embedding) = ${DIMS}`);
    await db.exec('ANALYZE');
    const seedMs = performance.now() - t0;
    const smallCount = templates.filter((t) => t.watchlist === small).length;

    // Mated probes alternate between a template anywhere and one on the small watchlist; the others are fresh vectors.
    const onSmall = templates.filter((t) => t.watchlist === small);
    const pick = <T>(xs: T[]) => xs[Math.floor((rnd() + 0.5) * xs.length)]!;
    const probes = Array.from({ length: PROBES }, (_, i) =>
      i % 2 === 1 ? { v: unit(Array.from({ length: DIMS }, rnd)), mate: null } : (({ v, ...t }) => ({ v: unit(v.map((x) => x + 0.02 * rnd())), mate: t }))(pick(i % 4 === 0 ? templates : onSmall)),
    );
    const faces = createFaceRepo();
    const exact = (p: number[], inScope: (t: (typeof templates)[number]) => boolean) =>
      templates
        .filter(inScope)
        .map((t) => ({ id: t.subjectId, d: 1 - t.v.reduce((a, x, k) => a + x * p[k]!, 0) }))
        .sort((a, b) => a.d - b.d)
        .slice(0, TOP_K)
        .map((x) => x.id);

    const scopes: Record<string, { scope: Omit<KnnScope, 'at'>; inScope: (t: (typeof templates)[number]) => boolean }> = {
      whole: { scope: { organization: 'fiu', mode: 'investigative' }, inScope: () => true },
      named: { scope: { organization: 'fiu', mode: 'investigative', watchlistIds: [small] }, inScope: (t) => t.watchlist === small },
      granted: { scope: { organization: 'bank', mode: 'investigative' }, inScope: (t) => t.watchlist === small },
    };
    const report: Record<string, unknown> = {
      database: 'PostgreSQL ' + (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v,
      pgvector: (await db.query<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'")).rows[0]!.v,
      gallery: N,
      dims: DIMS,
      smallWatchlist: { templates: smallCount, share: round(smallCount / N) },
      probes: PROBES,
      topK: TOP_K,
      seedSeconds: round(seedMs / 1000),
    };
    for (const [label, { scope, inScope }] of Object.entries(scopes)) {
      const times: number[] = [];
      let returned = 0;
      let recall = 0;
      let mated = 0;
      let matedFirst = 0;
      // Warm-up pass (index pages into the buffer cache), then the measured pass.
      for (const p of probes.slice(0, 5)) await db.transaction((tx) => faces.nearestSubjects(tx, { embedding: p.v, modelId: MODEL, topK: TOP_K, scope: { ...scope, at: new Date() } }));
      for (const p of probes) {
        const t = performance.now();
        const rows = await db.transaction((tx) => faces.nearestSubjects(tx, { embedding: p.v, modelId: MODEL, topK: TOP_K, scope: { ...scope, at: new Date() } }));
        times.push(performance.now() - t);
        returned += rows.length;
        const truth = new Set(exact(p.v, inScope));
        recall += rows.filter((r) => truth.has(r.subjectId)).length / truth.size;
        if (p.mate && inScope({ ...p.mate, v: [] })) {
          mated++;
          if (rows[0]?.subjectId === p.mate.subjectId) matedFirst++;
        }
      }
      const plan = await db.transaction((tx) => faces.explainNearest(tx, { embedding: probes[1]!.v, modelId: MODEL, topK: TOP_K, scope: { ...scope, at: new Date() } }, true));
      report[label] = {
        ms: { p50: round(pct(times, 50)), p95: round(pct(times, 95)), max: round(Math.max(...times)), mean: round(times.reduce((a, b) => a + b, 0) / times.length) },
        meanResults: round(returned / probes.length),
        recallAt20: round(recall / probes.length),
        matedProbesInScope: mated,
        matedAtRank1: mated ? round(matedFirst / mated) : null,
        usesHnsw: new RegExp(`Index Scan using face_embedding_${DIMS}_hnsw`).test(plan),
        explainAnalyzeMs: Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1]),
      };
    }
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
