import { randomUUID } from 'node:crypto';
import { createAuditRepo } from '../../src/modules/audit/audit.repo';
import { createFaceRepo } from '../../src/modules/gallery/face.repo';
import { migrate } from '../../src/platform/db/migrate';
import { type SubjectFields } from '../../src/modules/gallery/gallery.model';
import { createSubjectRepo } from '../../src/modules/gallery/subject.repo';
import { createWatchlistRepo } from '../../src/modules/watchlist/watchlist.repo';
import type { Db } from '../../src/shared/db';
import { ChainVerifier } from '../../src/modules/audit/audit.model';
import { backends, type TestDb } from '../helpers/databases';
import { near, seededUnitVectors } from '../helpers/vectors';

const subjects = createSubjectRepo();
const faces = createFaceRepo();
const audit = createAuditRepo();
const watchlistRepo = createWatchlistRepo();
/** Watchlists of organization org-a by name → id, made in beforeAll. */
const wl: Record<string, string> = {};
const MODEL = 'test-model-128';
const quality = { score: 0.9, issues: [], metrics: {} };
const box = { x: 1, y: 2, width: 30, height: 40 };

function fields(over: Partial<SubjectFields> = {}): SubjectFields {
  return {
    displayName: 'Test Subject',
    category: 'fraud',
    watchlistId: wl['wl-a']!,
    externalRef: null,
    caseRef: 'CASE-1',
    legalBasis: 'test',
    notes: null,
    reviewBy: '2027-01-31',
    ...over,
  };
}

async function enrol(db: Db, embedding: number[], over: Partial<SubjectFields> = {}) {
  const s = await subjects.insert(db, { id: randomUUID(), organization: 'org-a', ...fields(over) });
  const faceId = randomUUID();
  await faces.insert(db, { id: faceId, subjectId: s.id, modelId: MODEL, embedding, quality, box, source: null });
  return { subjectId: s.id, faceId };
}

type Knn = Parameters<ReturnType<typeof createFaceRepo>['nearestSubjects']>[1];
const knn = (db: Db, q: Omit<Knn, 'scope'> & { scope?: Partial<Knn['scope']> }) =>
  db.transaction((tx) => faces.nearestSubjects(tx, { ...q, scope: { organization: 'org-a', mode: 'investigative', at: new Date(), ...q.scope } }));

describe.each(backends())('storage on $name', (backend) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await backend.open();
    await migrate(t.db);
    for (const name of ['wl-a', 'crowd', 'rare']) {
      wl[name] = (await watchlistRepo.insert(t.db, { id: randomUUID(), organization: 'org-a', name, description: null, jurisdiction: 'EU', legalBasis: 'test', retentionDays: null })).id;
    }
  });
  afterAll(() => t.drop());

  it('stores a subject with a real 128-d vector and finds it first by kNN; deleting the subject removes its vector', async () => {
    const vs = seededUnitVectors(60, 128, 1);
    const target = await enrol(t.db, vs[0]!, { displayName: 'Target', reviewBy: '2026-02-28' });
    for (const v of vs.slice(1)) await enrol(t.db, v);

    const hits = await knn(t.db, { embedding: near(vs[0]!, 0.2), modelId: MODEL, topK: 5 });
    expect(hits).toHaveLength(5);
    expect(hits[0]!.subjectId).toBe(target.subjectId);
    expect(hits[0]!.faceId).toBe(target.faceId);
    expect(hits.map((h) => h.distance)).toEqual([...hits.map((h) => h.distance)].sort((a, b) => a - b));
    expect((await subjects.get(t.db, target.subjectId))!.reviewBy).toBe('2026-02-28');

    expect(await subjects.delete(t.db, target.subjectId)).toBe(true);
    const left = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM face WHERE id = $1', [target.faceId]);
    expect(left.rows[0]!.n).toBe(0);
    const after = await knn(t.db, { embedding: vs[0]!, modelId: MODEL, topK: 5 });
    expect(after.map((h) => h.subjectId)).not.toContain(target.subjectId);
  });

  it('returns one candidate per subject: its nearest face', async () => {
    const [a, b] = seededUnitVectors(2, 128, 99);
    const s = await enrol(t.db, a!, { displayName: 'Two faces' });
    const second = randomUUID();
    await faces.insert(t.db, { id: second, subjectId: s.subjectId, modelId: MODEL, embedding: near(a!, 0.05, 3), quality, box, source: null });
    await enrol(t.db, b!);
    const hits = await knn(t.db, { embedding: a!, modelId: MODEL, topK: 10 });
    expect(hits.filter((h) => h.subjectId === s.subjectId)).toHaveLength(1);
    expect(hits[0]).toMatchObject({ subjectId: s.subjectId, faceId: s.faceId });
  });

  it('fills topK within a watchlist filter even when the nearest faces belong to other watchlists', async () => {
    const base = seededUnitVectors(1, 128, 500)[0]!;
    // 150 close neighbours on another watchlist, 12 farther ones on the filtered list.
    for (let i = 0; i < 150; i++) await enrol(t.db, near(base, 0.3, 1000 + i), { watchlistId: wl.crowd! });
    for (let i = 0; i < 12; i++) await enrol(t.db, near(base, 1.2, 2000 + i), { watchlistId: wl.rare!, category: 'sanctions' });
    await t.db.exec('ANALYZE');
    const hits = await knn(t.db, { embedding: base, modelId: MODEL, topK: 10, scope: { watchlistIds: [wl.rare!] } });
    expect(hits).toHaveLength(10);
    expect(new Set(hits.map((h) => h.watchlistId))).toEqual(new Set([wl.rare]));
    const byCategory = await knn(t.db, { embedding: base, modelId: MODEL, topK: 12, categories: ['sanctions'] });
    expect(byCategory).toHaveLength(12);
  });

  it.each([512, 1024])('searches %i-d templates through their own HNSW index, apart from the 128-d ones', async (dims) => {
    // Its own database: the plan depends on the table's contents, which must not depend on the other tests.
    const own = await backend.open();
    const db = own.db;
    await migrate(db);
    const ownList = (await watchlistRepo.insert(db, { id: randomUUID(), organization: 'org-a', name: 'own', description: null, jurisdiction: 'EU', legalBasis: 'test', retentionDays: null })).id;
    const model = `test-model-${dims}`;
    const vs = seededUnitVectors(40, dims, 4);
    const ids: string[] = [];
    for (const v of vs) {
      const s = await subjects.insert(db, { id: randomUUID(), organization: 'org-a', ...fields({ watchlistId: ownList }) });
      await faces.insert(db, { id: randomUUID(), subjectId: s.id, modelId: model, embedding: v, quality, box, source: null });
      ids.push(s.id);
    }
    const probe = near(vs[7]!, 0.2);
    const hits = await knn(db, { embedding: probe, modelId: model, topK: 3 });
    expect(hits[0]!.subjectId).toBe(ids[7]);
    // Full-precision distance even where the index holds halfvec (512-d, migration 0053): 16-bit floats would be off by ~1e-4.
    expect(hits[0]!.distance).toBeCloseTo(1 - probe.reduce((s, x, i) => s + x * vs[7]![i]!, 0), 6);
    expect(hits.every((h) => ids.includes(h.subjectId))).toBe(true);
    // The plan of the repository's own kNN statement. With 40 rows the planner rightly prefers the model_id index (a bitmap
    // scan) or a seq scan; with those off, what is left shows the statement's ORDER BY matches the HNSW index's expression
    // (at gallery sizes the planner picks it by cost: docs/BENCHMARKS.md).
    const plan = await db.transaction(async (tx) => {
      await tx.exec('SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off');
      return faces.explainNearest(tx, { embedding: vs[0]!, modelId: model, topK: 3, scope: { organization: 'org-a', mode: 'investigative', at: new Date() } });
    });
    expect(plan).toMatch(new RegExp(`Index Scan using face_embedding_${dims}_hnsw`));
    await own.drop();
  });

  describe('small scopes are searched exactly', () => {
    // Scopes of at most `exactScopeMax` templates skip the HNSW graph (docs/SCALING.md, "Filtered search").
    const exact = createFaceRepo({ exactScopeMax: 1000 });
    const probe = seededUnitVectors(1, 128, 4242)[0]!;
    /** Subjects of one fresh watchlist: subject id → its face vectors. */
    const gallery = new Map<string, number[][]>();
    let list = '';
    const cosine = (a: number[], b: number[]) => 1 - a.reduce((s, x, i) => s + x * b[i]!, 0);
    /** Brute force: each subject's nearest face, nearest subjects first. */
    const bruteForce = (topK: number, only?: Set<string>) =>
      [...gallery]
        .filter(([id]) => !only || only.has(id))
        .map(([id, vs]) => ({ id, d: Math.min(...vs.map((v) => cosine(probe, v))) }))
        .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
        .slice(0, topK);
    const sanctions = new Set<string>();

    beforeAll(async () => {
      list = (await watchlistRepo.insert(t.db, { id: randomUUID(), organization: 'org-a', name: 'exact-scope', description: null, jurisdiction: 'EU', legalBasis: 'test', retentionDays: null })).id;
      // One subject holds 50 faces right next to the probe: more than the HNSW statement fetches for topK 5 (40 rows), so only
      // a search that keeps each subject's best face over the whole scope returns five subjects.
      const crowded = await enrol(t.db, near(probe, 0.05, 1), { watchlistId: list });
      gallery.set(crowded.subjectId, [near(probe, 0.05, 1)]);
      for (let i = 2; i <= 50; i++) {
        const v = near(probe, 0.05, i);
        await faces.insert(t.db, { id: randomUUID(), subjectId: crowded.subjectId, modelId: MODEL, embedding: v, quality, box, source: null });
        gallery.get(crowded.subjectId)!.push(v);
      }
      for (let i = 0; i < 30; i++) {
        const v = near(probe, 0.4 + i * 0.05, 100 + i);
        const s = await enrol(t.db, v, { watchlistId: list, category: i % 3 === 0 ? 'sanctions' : 'fraud' });
        gallery.set(s.subjectId, [v]);
        if (i % 3 === 0) sanctions.add(s.subjectId);
      }
      // Another watchlist of the same model, larger than the scope: the exact path is for a scope that is a minority of the
      // gallery (a small whole gallery goes through its graph), and this keeps it one whatever other tests enrolled.
      const elsewhere = (await watchlistRepo.insert(t.db, { id: randomUUID(), organization: 'org-a', name: 'exact-elsewhere', description: null, jurisdiction: 'EU', legalBasis: 'test', retentionDays: null })).id;
      for (const v of seededUnitVectors(100, 128, 777)) await enrol(t.db, v, { watchlistId: elsewhere });
      await t.db.exec('ANALYZE');
    });

    const search = (repo: ReturnType<typeof createFaceRepo>, q: Partial<Knn> = {}) =>
      t.db.transaction((tx) =>
        repo.nearestSubjects(tx, { embedding: probe, modelId: MODEL, topK: 5, ...q, scope: { organization: 'org-a', mode: 'investigative', at: new Date(), watchlistIds: [list], ...q.scope } }),
      );

    it('returns exactly the brute-force top-k subjects, each with its nearest face', async () => {
      const hits = await search(exact);
      const want = bruteForce(5);
      expect(hits.map((h) => h.subjectId)).toEqual(want.map((w) => w.id));
      hits.forEach((h, i) => expect(h.distance).toBeCloseTo(want[i]!.d, 5));
      expect(new Set(hits.map((h) => h.watchlistId))).toEqual(new Set([list]));
      // The category filter applies on this path too.
      const filtered = await search(exact, { topK: 4, categories: ['sanctions'] });
      expect(filtered.map((h) => h.subjectId)).toEqual(bruteForce(4, sanctions).map((w) => w.id));
    });

    it('chooses the plan by the scope size: no HNSW at or below exactScopeMax, HNSW above it', async () => {
      const noPlanShortcuts = 'SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off';
      const explain = (repo: ReturnType<typeof createFaceRepo>) =>
        t.db.transaction(async (tx) => {
          await tx.exec(noPlanShortcuts);
          return repo.explainNearest(tx, { embedding: probe, modelId: MODEL, topK: 5, scope: { organization: 'org-a', mode: 'investigative', at: new Date(), watchlistIds: [list] } });
        });
      // The scope holds 80 templates.
      expect(await explain(createFaceRepo({ exactScopeMax: 80 }))).not.toMatch(/hnsw/);
      expect(await explain(createFaceRepo({ exactScopeMax: 79 }))).toMatch(/Index Scan using face_embedding_128_hnsw/);
    });

    it('searches a scope holding most of the gallery through HNSW however small it is', async () => {
      // Every watchlist of org-a: the whole gallery of the model, far below this exactScopeMax.
      const whole = await t.db.transaction(async (tx) => {
        await tx.exec('SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off');
        return createFaceRepo({ exactScopeMax: 1_000_000 }).explainNearest(tx, { embedding: probe, modelId: MODEL, topK: 5, scope: { organization: 'org-a', mode: 'investigative', at: new Date() } });
      });
      expect(whole).toMatch(/face_embedding_128_hnsw/);
    });

    it('returns nothing, without searching, when the caller may see no watchlist', async () => {
      expect(await search(exact, { scope: { organization: 'org-without-watchlists', mode: 'investigative', at: new Date() } })).toEqual([]);
      expect(await t.db.transaction((tx) => exact.explainNearest(tx, { embedding: probe, modelId: MODEL, topK: 5, scope: { organization: 'org-without-watchlists', mode: 'investigative', at: new Date() } }))).toMatch(/no watchlist in scope/);
    });
  });

  it('compares only templates of the same model', async () => {
    const v = seededUnitVectors(1, 128, 777)[0]!;
    const s = await subjects.insert(t.db, { id: randomUUID(), organization: 'org-a', ...fields() });
    await faces.insert(t.db, { id: randomUUID(), subjectId: s.id, modelId: 'other-model', embedding: v, quality, box, source: null });
    const hits = await knn(t.db, { embedding: v, modelId: MODEL, topK: 50 });
    expect(hits.map((h) => h.subjectId)).not.toContain(s.id);
  });

  it('rejects UPDATE, DELETE and TRUNCATE (plain or CASCADE) on audit_event', async () => {
    const actor = { keyId: null, organization: '*', roles: [] };
    await t.db.transaction((tx) => audit.append(tx, { type: 'subject.created', actor, payload: { n: 1 } }));
    await expect(t.db.query("UPDATE audit_event SET type = 'x'")).rejects.toThrow(/append-only/);
    await expect(t.db.query('DELETE FROM audit_event')).rejects.toThrow(/append-only/);
    // audit_text (migration 0130) references audit_event, so a plain TRUNCATE is refused by that foreign key first; with
    // CASCADE the foreign key no longer stands in the way and the append-only trigger must refuse it.
    await expect(t.db.exec('TRUNCATE audit_event')).rejects.toThrow(/foreign key|append-only/);
    await expect(t.db.exec('TRUNCATE audit_event CASCADE')).rejects.toThrow(/append-only/);
    const n = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event');
    expect(n.rows[0]!.n).toBeGreaterThanOrEqual(1);
  });

  it('appends a gap-free hash chain under concurrent writers, and it verifies', async () => {
    const actor = { keyId: null, organization: 'org-a', roles: ['searcher'] };
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        t.db.transaction((tx) => audit.append(tx, { type: 'search.run', actor, payload: { i, score: 0.1 + i / 1000 } })),
      ),
    );
    const v = new ChainVerifier();
    for await (const e of audit.iterate(t.db, { pageSize: 7 })) v.push(e);
    const r = v.result();
    expect(r.ok).toBe(true);
    expect(r.events).toBe(r.headSeq);
    expect(r.headHash).toBe((await audit.head(t.db))!.hash);
  });

  it('an audit append that fails rolls back the action it records', async () => {
    const id = randomUUID();
    // seq 1 exists (appended here, so this test stands alone): inserting it again fails inside the transaction.
    if (!(await audit.head(t.db))) {
      await t.db.transaction((tx) => audit.append(tx, { type: 'subject.created', actor: { keyId: null, organization: '*', roles: [] }, payload: {} }));
    }
    await expect(
      t.db.transaction(async (tx) => {
        await subjects.insert(tx, { id, organization: 'org-a', ...fields() });
        await tx.query("INSERT INTO audit_event (seq, at, actor, type, payload, prev_hash, hash) VALUES (1, now(), '{}', 'x', '{}', '', 'dup')");
      }),
    ).rejects.toThrow();
    expect(await subjects.get(t.db, id)).toBeNull();
  });
  it('counts templates per model through the triggers (migration 0060): repository inserts, a bulk INSERT … SELECT, a model change, a subject deletion', async () => {
    const counted = async (model?: string) =>
      (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM face WHERE ($1::text IS NULL OR model_id = $1)', [model ?? null])).rows[0]!.n;
    const grouped = async (sql: string) =>
      Object.fromEntries((await t.db.query<{ k: string; n: number }>(sql)).rows.map((r) => [r.k, Number(r.n)]));
    const agree = async () => {
      for (const m of [MODEL, 'count-a', 'count-b', undefined]) expect(await faces.countTemplates(t.db, m)).toBe(await counted(m));
      // Per (model, watchlist), the rows face.repo sizes a search's scope from.
      expect(await grouped("SELECT model_id || '/' || watchlist_id AS k, n FROM face_template_count WHERE n > 0")).toEqual(
        await grouped("SELECT model_id || '/' || watchlist_id AS k, count(*) AS n FROM face GROUP BY 1"),
      );
    };
    await agree();
    const vs = seededUnitVectors(5, 128, 4242);
    const made = [];
    for (const v of vs) made.push(await enrol(t.db, v));
    const before = await faces.countTemplates(t.db, 'count-a');
    // One statement adding several rows (as bulk SQL would): the statement trigger adds its whole count once.
    await t.db.query(
      `INSERT INTO face (id, subject_id, model_id, embedding, quality, box)
         SELECT gen_random_uuid(), subject_id, 'count-a', embedding, quality, box FROM face WHERE id = ANY($1::uuid[])`,
      [made.map((m) => m.faceId)],
    );
    expect(await faces.countTemplates(t.db, 'count-a')).toBe(before + 5);
    await agree();
    await t.db.query("UPDATE face SET model_id = 'count-b' WHERE model_id = 'count-a' AND subject_id = $1", [made[0]!.subjectId]);
    await t.db.query("UPDATE face SET source = 'x' WHERE model_id = 'count-b'");
    await agree();
    // A subject moved to another watchlist takes its templates along (face.watchlist_id follows by migration 0042's trigger).
    await t.db.query('UPDATE subject SET watchlist_id = $1 WHERE id = $2', [wl['rare'], made[1]!.subjectId]);
    await agree();
    expect(await faces.countTemplates(t.db, 'count-b')).toBe(1);
    for (const m of made) await subjects.delete(t.db, m.subjectId);
    await agree();
    expect(await faces.countTemplates(t.db, 'count-a')).toBe(0);
  });
});
