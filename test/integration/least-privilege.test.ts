import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import request from 'supertest';
import { createPostgresDb } from '../../src/platform/db/postgres.db';
import { startService } from '../helpers/app';
import { fixedFaceEngine } from '../helpers/fake-engine';
import { sample } from '../helpers/fixtures';
import { serviceEnv } from './oversight.fixtures';

/**
 * The least-privilege deployment of docs/OVERSIGHT.md, executed as written (only names and passwords substituted): an owner
 * role migrates with `npm run migrate`; the service and the operational scripts run as a role that owns nothing, with
 * MIGRATE_ON_START=false, and can do their work but cannot rewrite the audit trail or the schema.
 */
const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const admin = process.env.TEST_DATABASE_URL;
const describePg = admin ? describe : describe.skip;

/** The SQL block of OVERSIGHT.md's "Append-only in the database" section, split at `\c` and at the "After" comment. */
function documentedSql(names: { owner: string; service: string; db: string }) {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/OVERSIGHT.md'), 'utf8');
  const block = /```sql\n(-- Once, as a superuser\.[\s\S]*?)```/.exec(doc)![1]!
    .replaceAll('facematch_owner', names.owner)
    .replaceAll('facematch_service', names.service)
    .replace(/\bfacematch\b/g, names.db)
    .replaceAll("'…'", "'not-a-secret'");
  const [beforeConnect, afterConnect] = block.split(/^\\c .*$/m) as [string, string];
  const afterAt = afterConnect.search(/^-- After/m);
  const statements = (sql: string) =>
    sql.split('\n').map((l) => l.replace(/--.*$/, '')).join('\n').split(';').map((x) => x.trim()).filter(Boolean);
  return {
    superuser: statements(beforeConnect),
    superuserInDb: statements(afterConnect.slice(0, afterAt)),
    ownerAfterMigrate: statements(afterConnect.slice(afterAt)),
  };
}

describePg('least-privilege deployment on postgres (docs/OVERSIGHT.md)', () => {
  const suffix = randomBytes(4).toString('hex');
  const names = { owner: `fm_owner_${suffix}`, service: `fm_service_${suffix}`, db: `fm_lp_${suffix}` };
  const urlAs = (role: string) => {
    const u = new URL(admin!);
    u.username = role;
    u.password = 'not-a-secret';
    u.pathname = `/${names.db}`;
    return u.toString();
  };
  const sql = documentedSql(names);
  const exec = async (url: string, statements: string[]) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (const s of statements) await c.query(s);
    } finally {
      await c.end();
    }
  };
  const { DATABASE_URL: _omit, ...baseEnv } = process.env;
  const asService = { ...baseEnv, DATABASE_URL: urlAs(names.service), MIGRATE_ON_START: 'false', LOG_LEVEL: 'silent', FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'), PORT: '18120', HOST: '127.0.0.1' };
  const script = (file: string, env: NodeJS.ProcessEnv, args: string[] = []) =>
    run(TSX, [file, ...args], { cwd: ROOT, env }).then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);

  beforeAll(async () => {
    await exec(admin!, sql.superuser);
    const u = new URL(admin!);
    u.pathname = `/${names.db}`;
    await exec(u.toString(), sql.superuserInDb);
  });
  afterAll(async () => {
    await exec(admin!, [`DROP DATABASE IF EXISTS ${names.db} WITH (FORCE)`, `DROP ROLE IF EXISTS ${names.service}`, `DROP ROLE IF EXISTS ${names.owner}`]);
  });

  it('before `npm run migrate`, the service and keys refuse to start with MIGRATE_ON_START=false, naming the pending migrations', async () => {
    const main = await script('src/main.ts', asService);
    expect(main.code).toBe(1);
    expect(main.stderr).toMatch(/not migrated.*npm run migrate/s);
    const keys = await script('scripts/keys.ts', asService, ['list']);
    expect(keys.code).toBe(1);
    expect(keys.stderr).toMatch(/npm run migrate/);
  });

  it('npm run migrate applies every migration as the owner, and a second run applies none', async () => {
    const first = await script('scripts/migrate.ts', { ...baseEnv, DATABASE_URL: urlAs(names.owner) });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).applied.length).toBeGreaterThan(0);
    const second = await script('scripts/migrate.ts', { ...baseEnv, DATABASE_URL: urlAs(names.owner) });
    expect(JSON.parse(second.stdout)).toEqual({ applied: [] });
    await exec(urlAs(names.owner), sql.ownerAfterMigrate);
  });

  it('the service role runs keys, searches, reviews, anchors and verifies, and cannot rewrite the audit trail or the schema', async () => {
    const keys = await script('scripts/keys.ts', asService, ['create', '--role', 'searcher', '--org', 'bank-a', '--holder', 'Least Privilege']);
    expect(keys.code).toBe(0);
    const db = await createPostgresDb(urlAs(names.service), 4);
    try {
      const svc = await startService(db, { engine: fixedFaceEngine(), env: { ...serviceEnv(), MIGRATE_ON_START: 'false' }, migrateFirst: false });
      await svc.startEngine();
      expect((await request(svc.app).get('/readyz')).status).toBe(200);
      const enroller = (await svc.key(['enroller'], 'bank-a')).auth;
      const searcher = (await svc.key(['searcher'], 'bank-a')).auth;
      const reviewer = (await svc.key(['reviewer'], 'bank-a')).auth;
      const auditor = (await svc.key(['auditor'], '*')).auth;
      await svc.watchlist('bank-a', 'wl');
      const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
        .send({ displayName: 'S', category: 'fraud', watchlist: 'wl', legalBasis: 'test' }).expect(201);
      await request(svc.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', sample(1), 'e.jpg').expect(201);
      const found = await request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', sample(2), 'p.jpg')
        .field('purpose', 'p').field('caseRef', 'c').expect(200);
      await request(svc.app).post(`/v1/searches/${found.body.searchId}/reviews`).set('Authorization', reviewer)
        .send({ faceIndex: 0, subjectId: s.body.id, decision: 'confirmed', rationale: 'r' }).expect(201);
      await svc.auditService.anchor({ keyId: null, organization: '*', roles: ['auditor'] });
      expect((await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor)).body.ok).toBe(true);
      for (const forbidden of [
        "UPDATE audit_event SET type = 'x'",
        'DELETE FROM audit_event',
        'TRUNCATE audit_event',
        'DELETE FROM audit_anchor',
        'ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete',
        'CREATE TABLE intruder (x int)',
        'DELETE FROM schema_migration',
      ]) {
        await expect(db.query(forbidden)).rejects.toMatchObject({ code: '42501' });
      }
      await svc.close();
    } finally {
      await db.close();
    }
    const anchor = await script('scripts/audit-anchor.ts', asService);
    expect(anchor.code).toBe(0);
  });
});
