import { migrate, readMigrations, isMigrated } from '../../src/platform/db/migrate';
import { createPostgresDb } from '../../src/platform/db/postgres.db';
import { backends } from '../helpers/databases';

describe.each(backends())('migrations on $name', (backend) => {
  it('applies every migration to a fresh database and records it', async () => {
    const t = await backend.open({ empty: true });
    try {
      expect(await isMigrated(t.db)).toBe(false);
      const applied = await migrate(t.db);
      expect(applied).toEqual(readMigrations().map((m) => m.version));
      expect(await isMigrated(t.db)).toBe(true);
      const tables = await t.db.query<{ t: string }>(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      );
      expect(tables.rows.map((r) => r.t)).toEqual(
        expect.arrayContaining(['subject', 'face', 'face_image', 'search', 'audit_event', 'api_key', 'schema_migration']),
      );
      const idx = await t.db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'face_embedding_128_hnsw'");
      expect(idx.rows[0]?.indexdef).toMatch(/USING hnsw .*vector_cosine_ops/);
    } finally {
      await t.drop();
    }
  });

  it('is a no-op when applied a second time', async () => {
    const t = await backend.open({ empty: true });
    try {
      await migrate(t.db);
      expect(await migrate(t.db)).toEqual([]);
      const n = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migration');
      expect(n.rows[0]!.n).toBe(readMigrations().length);
    } finally {
      await t.drop();
    }
  });

  it('rolls back a failing migration completely and reports which one failed', async () => {
    const t = await backend.open({ empty: true });
    try {
      const broken = [...readMigrations(), { version: 9999, name: 'broken', sql: 'CREATE TABLE half_done (a int); SELECT no_such_fn();' }];
      await expect(migrate(t.db, broken)).rejects.toThrow(/9999_broken/);
      const half = await t.db.query<{ t: string | null }>("SELECT to_regclass('half_done')::text AS t");
      expect(half.rows[0]!.t).toBeNull();
      expect(await isMigrated(t.db)).toBe(true);
    } finally {
      await t.drop();
    }
  });
});

const pgBackend = backends().find((b) => b.name === 'postgres');
(pgBackend ? describe : describe.skip)('concurrent migration runners on PostgreSQL', () => {
  it('both succeed, the schema is applied once', async () => {
    const t = await pgBackend!.open({ empty: true });
    const second = await createPostgresDb(t.url!, 2);
    try {
      const [a, b] = await Promise.all([migrate(t.db), migrate(second)]);
      expect([...a, ...b].sort((x, y) => x - y)).toEqual(readMigrations().map((m) => m.version));
      const n = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migration');
      expect(n.rows[0]!.n).toBe(readMigrations().length);
    } finally {
      await second.close();
      await t.drop();
    }
  });
});
