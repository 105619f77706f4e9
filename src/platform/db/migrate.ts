import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../../shared/db';
import { PROJECT_ROOT } from '../project-root';

/** Arbitrary constant shared by every FaceMatch instance: serialises migration runners across processes. */
const MIGRATION_LOCK_KEY = 7_406_331_901;

export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** `migrations/0001_create_schema.sql` … in version order; forward-only. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

/**
 * Applies pending migrations, each in its own transaction and recorded in `schema_migration`. Runners are serialised with a
 * session-level advisory lock, so concurrent starts are safe and a second run is a no-op. Returns the versions applied.
 */
export async function migrate(db: Db, migrations = readMigrations()): Promise<number[]> {
  return db.session(async (conn) => {
    await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await conn.exec(`CREATE TABLE IF NOT EXISTS schema_migration (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = new Set(
        (await conn.query<{ version: number }>('SELECT version FROM schema_migration')).rows.map((r) => r.version),
      );
      const applied: number[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await conn.exec('BEGIN');
        try {
          await conn.exec(m.sql);
          await conn.query('INSERT INTO schema_migration (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await conn.exec('COMMIT');
        } catch (e) {
          await conn.exec('ROLLBACK');
          throw new Error(`migration ${m.version}_${m.name} failed: ${(e as Error).message}`);
        }
        applied.push(m.version);
      }
      return applied;
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  });
}

/** The versions of migration files not yet recorded as applied. */
export async function pendingMigrations(db: Db, migrations = readMigrations()): Promise<number[]> {
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migration')::text AS t");
  if (!exists.rows[0]?.t) return migrations.map((m) => m.version);
  const r = await db.query<{ version: number }>('SELECT version FROM schema_migration WHERE version = ANY($1::int[])', [
    migrations.map((m) => m.version),
  ]);
  const done = new Set(r.rows.map((x) => Number(x.version)));
  return migrations.map((m) => m.version).filter((v) => !done.has(v));
}

/** True when every migration file is recorded as applied (used by /readyz). */
export async function isMigrated(db: Db, migrations = readMigrations()): Promise<boolean> {
  return (await pendingMigrations(db, migrations)).length === 0;
}

/**
 * What the service and the scripts do before anything else: apply pending migrations (MIGRATE_ON_START=true, the default), or,
 * when a separate owner role runs `npm run migrate` (least privilege), refuse to go on while any is pending. Returns the
 * versions applied.
 */
export async function prepareSchema(db: Db, opts: { migrate: boolean }): Promise<number[]> {
  if (opts.migrate) return migrate(db);
  const pending = await pendingMigrations(db);
  if (pending.length) {
    throw new Error(
      `the database is not migrated (pending migrations: ${pending.map((v) => String(v).padStart(4, '0')).join(', ')}); ` +
        'run `npm run migrate` with the schema owner\'s DATABASE_URL, or start with MIGRATE_ON_START=true',
    );
  }
  return [];
}
