import request from 'supertest';
import { createAuditRepo } from '../../src/modules/audit/audit.repo';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { serviceEnv } from './oversight.fixtures';

/**
 * GET /v1/audit/verify over a chain longer than one page of the repository's iterator (1,000 events): every page is read and
 * chained to the previous one. Its cost is measured by scripts/audit-timing.ts (docs/BENCHMARKS.md), not here.
 */
describe.each(backends())('audit verify across pages on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv() });
  });
  afterAll(() => t.drop());

  it('verifies a 2,500-event chain read in three pages', async () => {
    const audit = createAuditRepo();
    const actor = { keyId: '00000000-0000-0000-0000-00000000000a', organization: 'bank-a', roles: ['searcher'] };
    const have = (await audit.head(t.db))?.seq ?? 0;
    for (let done = have; done < 2_500; ) {
      const batch = Math.min(1000, 2_500 - done);
      await t.db.transaction(async (tx) => {
        for (let i = 0; i < batch; i++) {
          await audit.append(tx, { type: 'search.run', actor, searchId: null, payload: { purpose: 'load', caseRef: `C-${done + i}`, probeSha256: 'ab'.repeat(32), candidates: [{ subjectId: 'x', similarity: 0.91 }] } });
        }
      });
      done += batch;
    }
    const auditor = (await svc.key(['auditor'], '*')).auth;
    const res = await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor).expect(200);
    expect(res.body).toMatchObject({ ok: true, events: 2_501, headSeq: 2_501 });
  });
});
