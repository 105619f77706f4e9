import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { migrate, readMigrations } from '../../src/platform/db/migrate';
import type { Db } from '../../src/shared/db';
import { toVectorParam } from '../../src/platform/db/db';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { seededUnitVectors } from '../helpers/vectors';
import { serviceEnv } from './oversight.fixtures';

/**
 * Migration 0040 on a database written by the previous release: schema up to 0006, rows inserted with the statements that
 * release's repositories ran (free-text `subject.watchlist`, names copied into stored search results), then the rest of the
 * migrations and the current service on top.
 */
async function oldRelease(db: Db) {
  await migrate(db, readMigrations().filter((m) => m.version <= 6));
  const subjects: Array<{ id: string; org: string; watchlist: string; name: string }> = [
    { id: randomUUID(), org: 'fiu', watchlist: 'card-fraud', name: 'Old A' },
    { id: randomUUID(), org: 'fiu', watchlist: 'card-fraud', name: 'Old B' },
    { id: randomUUID(), org: 'fiu', watchlist: 'general', name: 'Old C' },
    // Another organization used the same free-text name: it must get its own watchlist, not share the FIU's.
    { id: randomUUID(), org: 'bank-b', watchlist: 'general', name: 'Old D' },
  ];
  const vs = seededUnitVectors(subjects.length, 128, 3);
  for (const [i, s] of subjects.entries()) {
    // subject.repo.ts insert() and face.repo.ts insert() of the release before watchlists were records.
    await db.query(
      `INSERT INTO subject (id, display_name, category, watchlist, external_ref, case_ref, legal_basis, notes, review_by, organization)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10)`,
      [s.id, s.name, 'fraud', s.watchlist, null, null, 'old basis', null, null, s.org],
    );
    await db.query(
      `INSERT INTO face (id, subject_id, model_id, embedding, quality, box, source, derived_from) VALUES ($1, $2, $3, $4::vector, $5::jsonb, $6::jsonb, $7, $8)`,
      [randomUUID(), s.id, 'old-model', toVectorParam(vs[i]!), '{"score":0.9,"issues":[]}', '{"x":0,"y":0,"width":1,"height":1}', null, null],
    );
  }
  return subjects;
}

describe.each(backends())('watchlist migration from free-text names on $name', (backend) => {
  let t: TestDb;
  afterAll(() => t?.drop());

  it('turns each (organization, name) into a watchlist owned by that organization and moves every subject onto it', async () => {
    t = await backend.open({ empty: true });
    const old = await oldRelease(t.db);
    expect(await migrate(t.db)).toEqual(readMigrations().filter((m) => m.version > 6).map((m) => m.version));

    const lists = await t.db.query<{ organization: string; name: string; n: number }>(
      `SELECT w.organization, w.name, count(s.id)::int AS n FROM watchlist w LEFT JOIN subject s ON s.watchlist_id = w.id
        GROUP BY w.organization, w.name ORDER BY 1, 2`,
    );
    expect(lists.rows).toEqual([
      { organization: 'bank-b', name: 'general', n: 1 },
      { organization: 'fiu', name: 'card-fraud', n: 2 },
      { organization: 'fiu', name: 'general', n: 1 },
    ]);
    const cols = await t.db.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'subject'");
    expect(cols.rows.map((c) => c.column_name)).not.toContain('watchlist');

    // The current service reads the migrated data under the new rules: the owner sees its subjects, nobody else does.
    const svc = await startService(t.db, { env: serviceEnv() });
    const fiu = (await svc.key(['enroller'], 'fiu')).auth;
    const bankB = (await svc.key(['enroller'], 'bank-b')).auth;
    const a = old[0]!;
    expect((await request(svc.app).get(`/v1/subjects/${a.id}`).set('Authorization', fiu).expect(200)).body).toMatchObject({ displayName: 'Old A', watchlist: 'card-fraud', organization: 'fiu' });
    expect((await request(svc.app).get(`/v1/subjects/${a.id}`).set('Authorization', bankB)).status).toBe(404);
    const mine = (await request(svc.app).get('/v1/watchlists').set('Authorization', fiu).expect(200)).body.items;
    expect(mine.map((w: { name: string; access: string }) => `${w.name}:${w.access}`).sort()).toEqual(['card-fraud:owner', 'general:owner']);
    const listed = (await request(svc.app).get('/v1/subjects?watchlist=general').set('Authorization', bankB).expect(200)).body.items;
    expect(listed.map((s: { displayName: string }) => s.displayName)).toEqual(['Old D']);
    // New enrolments name the migrated watchlist as before.
    await request(svc.app).post('/v1/subjects').set('Authorization', fiu).send({ displayName: 'New', category: 'fraud', watchlist: 'card-fraud', legalBasis: 'x' }).expect(201);
  });
});
