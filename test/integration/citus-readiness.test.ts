import fs from 'node:fs';
import path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- js-yaml comes with jest, not a dependency (as in deployment-files.test.ts)
const yaml = require('js-yaml') as { load(text: string): unknown };
import { backends, type TestDb } from '../helpers/databases';

/**
 * Is the migrated schema still distributable with Citus as deploy/citus/distribute.sql does it (docs/SCALING.md, "Past one
 * PostgreSQL")? Citus is not installable here, so this checks the rules it enforces against the catalog of a migrated database:
 *  - every table is classified: distributed (with its distribution column), reference (replicated to every node: small) or
 *    local (stays on the coordinator), so a new table forces a decision here;
 *  - every primary key, unique constraint and unique index of a distributed table includes its distribution column;
 *  - foreign keys: distributed → distributed only between co-located tables on their distribution columns; distributed →
 *    reference is fine; reference → distributed, local → distributed and distributed → local are not possible;
 *  - user triggers on distributed and reference tables are listed (Citus runs them per shard at best);
 *  - distribute.sql distributes exactly the tables classified here, and handles every listed exception.
 * Each exception is named below with what distribute.sql does about it.
 */

/** The gallery: the tables that grow with templates and photos (≈ 4–5 GB per million templates). Co-located by face id. */
const DISTRIBUTED: Record<string, string> = { face: 'id', face_image: 'face_id' };

/** Replicated to every node: read by the kNN's scope filter and join on every shard, written rarely. */
const REFERENCE = ['subject', 'watchlist', 'watchlist_grant', 'federation_partner', 'federation_partner_key', 'federation_grant_terms'];

/** On the coordinator: the audit chain (one sequence), searches and what hangs off them, keys, limits, bookkeeping. */
const LOCAL = [
  'audit_event', 'audit_anchor', 'search', 'review', 'probe_face_image', 'hit_notice', 'webhook', 'webhook_delivery', 'webhook_attempt',
  'rate_bucket', 'api_key', 'purpose_policy', 'federation_nonce', 'federation_request', 'schema_migration', 'face_template_count',
  'screening_job', 'screening_job_item',
  // The free text of audit events (migration 0130), keyed by the chain's seq: beside audit_event, on the coordinator.
  'audit_text',
  // Reverse screening on enrolment (migration 0190): one row per grant that enabled it, and its queue of owed screenings.
  'reverse_screening', 'reverse_screening_task',
];

/** Known exceptions: each is resolved by deploy/citus/distribute.sql (the string it must contain). */
const FOREIGN_KEY_EXCEPTIONS: Record<string, string> = {
  // A re-embedded template names the one it came from: a self-reference off the distribution column. Dropped before
  // distributing; derived_from stays as a plain column (the old template may then be deleted without nulling it).
  'face(derived_from) -> face(id)': 'DROP CONSTRAINT face_derived_from_fkey',
};
const TRIGGER_EXCEPTIONS: Record<string, string> = {
  // face_template_count (migration 0060) kept by statement triggers with transition tables: not supported on distributed
  // tables. Dropped; the counts become a view over face (a fan-out count per search: correct, slower).
  'face.face_template_count_ins': 'DROP TRIGGER face_template_count_ins',
  'face.face_template_count_del': 'DROP TRIGGER face_template_count_del',
  'face.face_template_count_upd': 'DROP TRIGGER face_template_count_upd',
  // BEFORE row trigger copying the subject's watchlist onto the face: reads the subject reference table, which every worker
  // holds; allowed per shard with citus.enable_unsafe_triggers.
  'face.face_watchlist_on_write': 'citus.enable_unsafe_triggers',
  // AFTER row trigger on subject moving its faces to the new watchlist: a reference-table trigger writing a distributed table.
  // Replaced: distribute.sql drops it and the move is done by the statement that moves the subject (documented there).
  'subject.subject_watchlist_moved': 'DROP TRIGGER subject_watchlist_moved',
};

const distributeSql = fs.readFileSync(path.resolve(__dirname, '../../deploy/citus/distribute.sql'), 'utf8');

describe.each(backends())('Citus readiness of the migrated schema on $name', (backend) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(() => t?.drop());

  const classOf = (table: string) => (table in DISTRIBUTED ? 'distributed' : REFERENCE.includes(table) ? 'reference' : LOCAL.includes(table) ? 'local' : 'unclassified');

  it('classifies every table once', async () => {
    const tables = (await t.db.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1")).rows.map((r) => r.t);
    expect(tables.filter((x) => classOf(x) === 'unclassified')).toEqual([]);
    const listed = [...Object.keys(DISTRIBUTED), ...REFERENCE, ...LOCAL];
    expect(listed.filter((x) => !tables.includes(x))).toEqual([]);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('every primary key, unique constraint and unique index of a distributed table includes its distribution column (NOT NULL)', async () => {
    const rows = (await t.db.query<{ tbl: string; idx: string; cols: string[] }>(
      `SELECT c.relname AS tbl, i.relname AS idx,
              ARRAY(SELECT a.attname::text FROM unnest(x.indkey) k JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k) AS cols
         FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND x.indisunique AND c.relname = ANY($1::text[])`,
      [Object.keys(DISTRIBUTED)],
    )).rows;
    expect(rows.length).toBeGreaterThanOrEqual(Object.keys(DISTRIBUTED).length);
    expect(rows.filter((r) => !r.cols.includes(DISTRIBUTED[r.tbl]!)).map((r) => `${r.tbl}.${r.idx} (${r.cols.join(', ')})`)).toEqual([]);
    for (const [table, column] of Object.entries(DISTRIBUTED)) {
      const c = (await t.db.query<{ is_nullable: string }>(
        "SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2", [table, column])).rows;
      expect({ table, column, nullable: c[0]?.is_nullable }).toEqual({ table, column, nullable: 'NO' });
    }
  });

  it('foreign keys are ones Citus accepts between the classes, or a listed exception that distribute.sql resolves', async () => {
    const fks = (await t.db.query<{ src: string; dst: string; src_cols: string[]; dst_cols: string[] }>(
      `SELECT c.conrelid::regclass::text AS src, c.confrelid::regclass::text AS dst,
              ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS src_cols,
              ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) AS dst_cols
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.contype = 'f'`,
    )).rows;
    const bad: string[] = [];
    for (const fk of fks) {
      const name = `${fk.src}(${fk.src_cols.join(', ')}) -> ${fk.dst}(${fk.dst_cols.join(', ')})`;
      const [from, to] = [classOf(fk.src), classOf(fk.dst)];
      const ok =
        (from === 'distributed' && to === 'reference') ||
        (from === 'reference' && to === 'reference') ||
        (from === 'local' && to !== 'distributed') ||
        (from === 'distributed' && to === 'distributed' &&
          fk.src_cols.indexOf(DISTRIBUTED[fk.src]!) >= 0 && fk.src_cols.indexOf(DISTRIBUTED[fk.src]!) === fk.dst_cols.indexOf(DISTRIBUTED[fk.dst]!));
      if (!ok && !(name in FOREIGN_KEY_EXCEPTIONS)) bad.push(`${name} (${from} -> ${to})`);
    }
    expect(bad).toEqual([]);
    // Every listed exception still exists (else drop it from the list and from distribute.sql) and is resolved there.
    const names = new Set(fks.map((fk) => `${fk.src}(${fk.src_cols.join(', ')}) -> ${fk.dst}(${fk.dst_cols.join(', ')})`));
    for (const [name, fix] of Object.entries(FOREIGN_KEY_EXCEPTIONS)) {
      expect({ name, exists: names.has(name), resolved: distributeSql.includes(fix) }).toEqual({ name, exists: true, resolved: true });
    }
  });

  it('every user trigger on a distributed or reference table is a listed exception that distribute.sql handles', async () => {
    const triggers = (await t.db.query<{ name: string }>(
      `SELECT c.relname || '.' || g.tgname AS name FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND NOT g.tgisinternal AND c.relname = ANY($1::text[]) ORDER BY 1`,
      [[...Object.keys(DISTRIBUTED), ...REFERENCE]],
    )).rows.map((r) => r.name);
    expect(triggers.filter((x) => !(x in TRIGGER_EXCEPTIONS))).toEqual([]);
    for (const [name, fix] of Object.entries(TRIGGER_EXCEPTIONS)) {
      expect({ name, exists: triggers.includes(name), resolved: distributeSql.includes(fix) }).toEqual({ name, exists: true, resolved: true });
    }
  });

  it('deploy/citus/distribute.sql distributes and replicates exactly the tables classified here', () => {
    const distributed = [...distributeSql.matchAll(/create_distributed_table\('(\w+)',\s*'(\w+)'/g)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(distributed)).toEqual(DISTRIBUTED);
    const reference = [...distributeSql.matchAll(/create_reference_table\('(\w+)'\)/g)].map((m) => m[1]).sort();
    expect(reference).toEqual([...REFERENCE].sort());
  });
});

describe('deploy/citus/compose.yaml (parsed only: no Docker engine and no Citus here)', () => {
  const file = yaml.load(fs.readFileSync(path.resolve(__dirname, '../../deploy/citus/compose.yaml'), 'utf8')) as {
    services: Record<string, { profiles?: string[]; image?: string; command?: string[]; depends_on?: Record<string, unknown>; volumes?: string[] }>;
  };

  it('adds two Citus workers and the one-shot distribution under the citus profile, between migrate and grants', () => {
    const s = file.services;
    for (const name of ['citus-worker-1', 'citus-worker-2', 'distribute']) expect({ name, profiles: s[name]?.profiles }).toEqual({ name, profiles: ['citus'] });
    expect(Object.keys(s.distribute!.depends_on!)).toEqual(expect.arrayContaining(['migrate', 'citus-worker-1', 'citus-worker-2']));
    expect(Object.keys(s.grants!.depends_on!)).toEqual(['distribute']);
    expect(s.distribute!.volumes).toContain('./deploy/citus/distribute.sql:/citus/distribute.sql:ro');
    for (const name of ['db', 'citus-worker-1', 'citus-worker-2']) expect(s[name]!.command).toContain('shared_preload_libraries=citus');
    expect(fs.readFileSync(path.resolve(__dirname, '../../deploy/citus/compose.yaml'), 'utf8')).not.toMatch(/postgres(ql)?:\/\/[^@\s]*:[^@\s]*@/);
  });
});
