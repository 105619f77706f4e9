import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { migrate, readMigrations } from '../../src/platform/db/migrate';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { serviceEnv } from './oversight.fixtures';

/**
 * Migration 0140 on a database written by the release before grant acceptance: schema up to 0120, a watchlist and a grant
 * inserted with the statements that release's repository ran, then the rest and the current service. The grant was in use,
 * so it stays active (accepted at its creation); a grant made afterwards is pending until the receiver accepts.
 */
describe.each(backends())('grant acceptance migration on $name', (backend) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await backend.open({ empty: true });
  });
  afterAll(() => t.drop());

  it('keeps grants made before it active, and makes new ones pending; the receiver may decline an old one', async () => {
    await migrate(t.db, readMigrations().filter((m) => m.version < 140));
    const watchlistId = randomUUID();
    const oldGrant = randomUUID();
    // watchlist.repo.ts insert() and insertGrant() of the previous release.
    await t.db.query(
      `INSERT INTO watchlist (id, organization, name, description, jurisdiction, legal_basis, retention_days) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [watchlistId, 'fiu', 'old-shared', null, 'DE', 'x', null],
    );
    await t.db.query('INSERT INTO watchlist_grant (id, watchlist_id, organization, access, expires_at) VALUES ($1, $2, $3, $4, $5)', [oldGrant, watchlistId, 'bank-a', 'search', null]);

    const svc = await startService(t.db, { env: serviceEnv() });
    try {
      const bankSearcher = (await svc.key(['searcher'], 'bank-a')).auth;
      const listed = (await request(svc.app).get('/v1/watchlists').set('Authorization', bankSearcher).expect(200)).body.items;
      expect(listed).toEqual([expect.objectContaining({ id: watchlistId, access: 'search' })]);
      const grants = (await request(svc.app).get(`/v1/watchlists/${watchlistId}/grants`).set('Authorization', (await svc.key(['admin'], 'fiu')).auth).expect(200)).body.items;
      expect(grants).toEqual([expect.objectContaining({ id: oldGrant, state: 'active', acceptedAt: expect.any(String) })]);
      expect(grants[0].acceptedAt).toBe(grants[0].createdAt);

      const fiu = { keyId: 'fiu-admin', roles: ['admin' as const], organization: 'fiu' };
      const fresh = await svc.watchlists.grant(fiu, watchlistId, { organization: 'bank-c', access: 'screen' });
      expect(fresh).toMatchObject({ state: 'pending', acceptedAt: null });
      const bankC = (await svc.key(['searcher'], 'bank-c')).auth;
      expect((await request(svc.app).get('/v1/watchlists').set('Authorization', bankC).expect(200)).body.items).toEqual([]);

      const bankAdmin = (await svc.key(['admin'], 'bank-a')).auth;
      expect((await request(svc.app).post(`/v1/grants/${oldGrant}/decline`).set('Authorization', bankAdmin).expect(200)).body).toMatchObject({ state: 'declined', owner: 'fiu', watchlist: 'old-shared' });
      expect((await request(svc.app).get('/v1/watchlists').set('Authorization', bankSearcher).expect(200)).body.items).toEqual([]);
    } finally {
      await svc.close();
    }
  });
});
