import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, readMigrations } from '../../src/platform/db/migrate';
import type { Db } from '../../src/shared/db';
import { createPgliteDb } from '../../src/platform/db/pglite.db';
import { createPostgresDb } from '../../src/platform/db/postgres.db';

/**
 * The storage backends every storage/API test runs against: the embedded PGlite always, and PostgreSQL with pgvector when
 * TEST_DATABASE_URL is set (CI sets it). Each `open()` gets a brand-new database of its own with every migration applied;
 * `open({ empty: true })` one with no schema at all (tests of the migrations and of the not-yet-migrated service).
 * On PostgreSQL the migrated database is a copy of a template migrated once per set of migration files
 * (`CREATE DATABASE … TEMPLATE`: ≈ 0.25 s instead of ≈ 2 s of migrations); PGlite migrates each one (≈ 0.2 s, no cheaper copy:
 * loading a dumped data directory costs the WASM start-up again).
 */
export interface Backend {
  name: 'pglite' | 'postgres';
  open(opts?: { empty?: boolean }): Promise<TestDb>;
}

export interface TestDb {
  db: Db;
  /** PostgreSQL only: the URL of this test's own database (for a second, independent pool). */
  url?: string;
  drop(): Promise<void>;
}

const testUrl = process.env.TEST_DATABASE_URL;
let warned = false;

export function backends(): Backend[] {
  const list: Backend[] = [
    {
      name: 'pglite',
      async open(opts = {}) {
        const db = await createPgliteDb('memory://');
        if (!opts.empty) await migrate(db);
        return { db, drop: () => db.close() };
      },
    },
  ];
  if (testUrl) {
    list.push({
      name: 'postgres',
      async open(opts = {}) {
        const name = `facematch_test_${randomBytes(6).toString('hex')}`;
        const admin = new pg.Client({ connectionString: testUrl });
        await admin.connect();
        try {
          if (opts.empty) await admin.query(`CREATE DATABASE ${name}`);
          else await admin.query(`CREATE DATABASE ${name} TEMPLATE ${await migratedTemplate(admin)}`);
        } finally {
          await admin.end();
        }
        const url = new URL(testUrl);
        url.pathname = `/${name}`;
        const db = await createPostgresDb(url.toString(), 10);
        return {
          db,
          url: url.toString(),
          async drop() {
            await db.close();
            const a = new pg.Client({ connectionString: testUrl });
            await a.connect();
            await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            await a.end();
          },
        };
      },
    });
  } else if (!warned) {
    warned = true;
    process.stderr.write('note: TEST_DATABASE_URL is not set: storage and API tests run on PGlite only (CI runs them on PostgreSQL too).\n');
  }
  return list;
}

/**
 * The name of a database on the test server with every migration applied, made once per set of migration files (its name
 * carries their hash, so a changed or added migration makes a new one). Made under an advisory lock: test runs in parallel
 * processes (or sessions) wait for one another instead of racing. A template nobody is connected to can be copied by many at once.
 */
async function migratedTemplate(admin: pg.Client): Promise<string> {
  const hash = createHash('sha256');
  for (const m of readMigrations()) hash.update(`${m.version}:${m.sql}\0`);
  const name = `facematch_tpl_${hash.digest('hex').slice(0, 16)}`;
  if (known.has(name)) return name;
  await admin.query('SELECT pg_advisory_lock(7406331990)');
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      const building = `${name}_building_${randomBytes(3).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${building}`);
      const url = new URL(testUrl!);
      url.pathname = `/${building}`;
      const db = await createPostgresDb(url.toString(), 2);
      try {
        await migrate(db);
      } finally {
        await db.close();
      }
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(7406331990)');
  }
  known.add(name);
  return name;
}
const known = new Set<string>();
