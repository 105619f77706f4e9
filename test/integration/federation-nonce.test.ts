import { createPostgresDb } from '../../src/platform/db/postgres.db';
import { createFederationRepo } from '../../src/modules/federation/federation.repo';
import { backends, type TestDb } from '../helpers/databases';

/**
 * The replay guard is one table every instance of a deployment shares: of many concurrent claims of one nonce (on PostgreSQL
 * from two independent pools, as two instances would), exactly one wins; the same nonce of another key is another claim;
 * nonces older than the bound are forgotten on the way.
 */
describe.each(backends())('federation nonces on $name', (backend) => {
  let t: TestDb;
  const repo = createFederationRepo();
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(() => t?.drop());

  it('lets exactly one of many concurrent claims of a nonce win, across instances', async () => {
    const second = t.url ? await createPostgresDb(t.url, 5) : t.db;
    try {
      const at = new Date();
      const old = new Date(at.getTime() - 600_000);
      const claims = await Promise.all(Array.from({ length: 16 }, (_, i) => repo.claimNonce(i % 2 ? second : t.db, 'key-a', 'nonce-0000000001', at, old)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await repo.claimNonce(t.db, 'key-b', 'nonce-0000000001', at, old)).toBe(true);
    } finally {
      if (second !== t.db) await second.close();
    }
  });

  it('forgets nonces seen before the bound', async () => {
    const long = new Date(Date.now() - 3_600_000);
    expect(await repo.claimNonce(t.db, 'key-c', 'nonce-0000000002', long, new Date(0))).toBe(true);
    expect(await repo.claimNonce(t.db, 'key-c', 'nonce-0000000003', new Date(), new Date(Date.now() - 600_000))).toBe(true);
    const left = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM federation_nonce WHERE key_id = 'key-c'");
    expect(left.rows[0]!.n).toBe(1);
  });
});
