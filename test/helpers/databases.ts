import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Db } from '../../src/infra/db/db';
import { createPgliteDb } from '../../src/infra/db/pglite.db';
import { createPostgresDb } from '../../src/infra/db/postgres.db';

/**
 * The storage backends every storage/API test runs against: the embedded PGlite always, and PostgreSQL with pgvector when
 * TEST_DATABASE_URL is set (CI sets it). Each `open()` gets a brand-new, empty database.
 */
export interface Backend {
  name: 'pglite' | 'postgres';
  open(): Promise<TestDb>;
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
      async open() {
        const db = await createPgliteDb('memory://');
        return { db, drop: () => db.close() };
      },
    },
  ];
  if (testUrl) {
    list.push({
      name: 'postgres',
      async open() {
        const name = `facematch_test_${randomBytes(6).toString('hex')}`;
        const admin = new pg.Client({ connectionString: testUrl });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
        await admin.end();
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
