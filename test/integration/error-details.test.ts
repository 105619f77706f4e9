import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { sample } from '../helpers/fixtures';

/**
 * Error bodies a client can act on: each names the field and what is wrong with it. None of these requests reaches the face
 * engine (the checks run first), so the engine is never started here.
 */
describe.each(backends())('actionable error details on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let searcher: string;
  let enroller: string;
  let auditor: string;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db);
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    enroller = (await svc.key(['enroller'], 'fiu')).auth;
    auditor = (await svc.key(['auditor'], '*')).auth;
  });
  afterAll(() => t.drop());

  const search = (image: Buffer, fields: Record<string, string>) => {
    const req = request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', image, 'probe.jpg');
    for (const [k, v] of Object.entries(fields)) req.field(k, v);
    return req;
  };

  it('answers a search without caseRef with CASE_REF_REQUIRED naming caseRef, not the purpose message', async () => {
    const r = await search(sample(1), { purpose: 'card-fraud investigation' }).expect(400);
    expect(r.body.error).toEqual({ code: 'CASE_REF_REQUIRED', message: expect.stringContaining('`caseRef`'), details: { missing: ['caseRef'] } });
    expect(r.body.error.message).not.toMatch(/purpose/);
  });

  it('answers a search without purpose with PURPOSE_REQUIRED, and mentions caseRef only when it is missing too', async () => {
    const onlyPurpose = await search(sample(1), { caseRef: 'CASE-1' }).expect(400);
    expect(onlyPurpose.body.error).toMatchObject({ code: 'PURPOSE_REQUIRED', details: { missing: ['purpose'] } });
    expect(onlyPurpose.body.error.message).not.toMatch(/caseRef/);
    const both = await search(sample(1), {}).expect(400);
    expect(both.body.error).toMatchObject({ code: 'PURPOSE_REQUIRED', details: { missing: ['purpose', 'caseRef'] } });
    expect(both.body.error.message).toMatch(/caseRef/);
  });

  it('says an empty upload is empty, for searches and enrolments', async () => {
    const r = await search(Buffer.alloc(0), { purpose: 'p', caseRef: 'c' }).expect(400);
    expect(r.body.error).toEqual({ code: 'VALIDATION_FAILED', message: 'The uploaded `image` file is empty (0 bytes).', details: [{ path: 'image', message: 'the file is empty' }] });
    await svc.watchlist('fiu', 'w');
    const subject = await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
      .send({ displayName: 'S', category: 'fraud', watchlist: 'w', legalBasis: 'test' }).expect(201);
    const e = await request(svc.app).post(`/v1/subjects/${subject.body.id}/faces`).set('Authorization', enroller)
      .attach('image', Buffer.alloc(0), 'empty.jpg').expect(400);
    expect(e.body.error.message).toMatch(/empty/);
  });

  it('says which date format from/to expect, and names the parameter', async () => {
    for (const url of ['/v1/oversight/stats?from=yesterday', '/v1/audit/events?to=2026-02-30', '/v1/searches?from=1700000000']) {
      const r = await request(svc.app).get(url).set('Authorization', url.startsWith('/v1/searches') ? searcher : auditor).expect(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      expect(r.body.error.details).toEqual([{ path: expect.stringMatching(/^(from|to)$/), message: expect.stringContaining('ISO 8601 date (2026-01-31') }]);
    }
  });

  it('accepts a plain date and a date-time with a zone for from/to', async () => {
    await request(svc.app).get('/v1/oversight/stats?from=2026-01-01&to=2026-02-01T00:00:00%2B01:00').set('Authorization', auditor).expect(200);
    await request(svc.app).get('/v1/searches?from=2026-01-01T00:00:00.000Z').set('Authorization', searcher).expect(200);
  });
});
