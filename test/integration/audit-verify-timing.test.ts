import request from 'supertest';
import { createAuditRepo } from '../../src/infra/db/audit.repo';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { serviceEnv } from './oversight.fixtures';

/** Measures GET /v1/audit/verify over 10,000 events (printed, not asserted: timings depend on the machine). */
describe.each(backends())('audit verify at 10,000 events on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv() });
  });
  afterAll(() => t.drop());

  it('verifies a 10,000-event chain and prints the time', async () => {
    const audit = createAuditRepo();
    const actor = { keyId: '00000000-0000-0000-0000-00000000000a', organization: 'bank-a', roles: ['searcher'] };
    const seed0 = performance.now();
    const have = (await audit.head(t.db))?.seq ?? 0;
    for (let done = have; done < 10_000; ) {
      const batch = Math.min(1000, 10_000 - done);
      await t.db.transaction(async (tx) => {
        for (let i = 0; i < batch; i++) {
          await audit.append(tx, { type: 'search.run', actor, searchId: null, payload: { purpose: 'load', caseRef: `C-${done + i}`, probeSha256: 'ab'.repeat(32), candidates: [{ subjectId: 'x', similarity: 0.91 }] } });
        }
      });
      done += batch;
    }
    const seedMs = Math.round(performance.now() - seed0);
    const auditor = (await svc.key(['auditor'], '*')).auth;
    const t0 = performance.now();
    const res = await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor).expect(200);
    const wall = Math.round(performance.now() - t0);
    expect(res.body).toMatchObject({ ok: true, events: 10_001 });
    process.stdout.write(`[timing] ${backend.name}: GET /v1/audit/verify over ${res.body.events} events: ${res.body.ms} ms in the service, ${wall} ms wall (seeding took ${seedMs} ms)\n`);
  });
});
