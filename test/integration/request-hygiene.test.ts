import pino from 'pino';
import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { fixedFaceEngine } from '../helpers/fake-engine';
import { serviceEnv } from './oversight.fixtures';

/**
 * Malformed requests are 4xx with API.md's error body, never 500: control characters and lone surrogates in text, broken
 * multipart, broken percent-encoding, loose numbers, oversized JSON; and every error is labelled with its real route.
 * The face engine is a counting stand-in: searches with bad fields must be refused before any face analysis runs.
 */
function countingEngine(): FaceEngine & { calls: () => number } {
  const inner = fixedFaceEngine();
  let n = 0;
  return { ...inner, model: inner.model, analyze: (img, o) => (n++, inner.analyze(img, o)), calls: () => n };
}

describe.each(backends())('request hygiene on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let engine: ReturnType<typeof countingEngine>;
  let searcher: string;
  let enroller: string;
  let admin: string;
  const logs: Array<{ msg: string; route?: string; status?: number }> = [];

  beforeAll(async () => {
    t = await backend.open();
    engine = countingEngine();
    const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s)) });
    svc = await startService(t.db, { engine, env: serviceEnv(), logger });
    await svc.startEngine();
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    enroller = (await svc.key(['enroller'], 'fiu')).auth;
    admin = (await svc.key(['admin'], '*')).auth;
  });
  afterAll(() => t.drop());

  const expectError = (res: request.Response, status: number, code: string) => {
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(res.body.requestId).toEqual(expect.any(String));
  };
  const subject = (over: Record<string, unknown>) =>
    request(svc.app).post('/v1/subjects').set('Authorization', enroller)
      .send({ displayName: 'S', category: 'fraud', watchlist: 'w', legalBasis: 'test', ...over });
  const search = (fields: Record<string, string>) => {
    const r = request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', Buffer.from('probe'), 'p.jpg');
    for (const [k, v] of Object.entries({ purpose: 'p', caseRef: 'c', ...fields })) r.field(k, v);
    return r;
  };
  const rawMultipart = (contentType: string, body: string | Buffer) =>
    request(svc.app).post('/v1/searches').set('Authorization', searcher).set('Content-Type', contentType).send(Buffer.from(body));

  it.each([
    ['displayName with NUL', { displayName: 'A\u0000B' }],
    ['notes with NUL', { notes: 'x\u0000' }],
    ['caseRef with NUL', { caseRef: '\u0000' }],
    ['displayName with a lone high surrogate', { displayName: 'A\ud800B' }],
    ['notes with a lone low surrogate', { notes: '\udc00' }],
  ])('returns 400 VALIDATION_FAILED for a subject whose %s', async (_name, over) => {
    expectError(await subject(over), 400, 'VALIDATION_FAILED');
  });

  it('returns 400 VALIDATION_FAILED for NUL in a search purpose or caseRef, before any face analysis runs', async () => {
    const before = engine.calls();
    expectError(await search({ purpose: 'fraud\u0000check' }), 400, 'VALIDATION_FAILED');
    expectError(await search({ caseRef: 'C-1\u0000' }), 400, 'VALIDATION_FAILED');
    expect(engine.calls()).toBe(before);
  });

  it('returns 400 VALIDATION_FAILED for NUL or a lone surrogate in a key label and a query string', async () => {
    const k = await request(svc.app).post('/v1/keys').set('Authorization', admin).send({ roles: ['searcher'], organization: 'o', label: 'l\ud83d' });
    expectError(k, 400, 'VALIDATION_FAILED');
    expectError(await request(svc.app).get('/v1/subjects?q=a%00b').set('Authorization', enroller), 400, 'VALIDATION_FAILED');
  });

  it('returns 400 VALIDATION_FAILED for malformed multipart: no closing boundary, no boundary, CR or NUL in a field name', async () => {
    const before = engine.calls();
    const part = (name: string) => `--XB\r\nContent-Disposition: form-data; name="${name}"\r\n\r\nvalue\r\n`;
    expectError(await rawMultipart('multipart/form-data; boundary=XB', part('purpose')), 400, 'VALIDATION_FAILED');
    expectError(await rawMultipart('multipart/form-data', `${part('purpose')}--XB--\r\n`), 400, 'VALIDATION_FAILED');
    expectError(await rawMultipart('multipart/form-data; boundary=XB', `${part('pur\rpose')}--XB--\r\n`), 400, 'VALIDATION_FAILED');
    expectError(await rawMultipart('multipart/form-data; boundary=XB', `${part('pur\u0000pose')}${part('purpose')}${part('caseRef')}--XB--\r\n`), 400, 'VALIDATION_FAILED');
    expect(engine.calls()).toBe(before);
  });

  it('returns 400 for bad percent-encoding in a path', async () => {
    expectError(await request(svc.app).get('/v1/searches/%E0%A4%A').set('Authorization', searcher), 400, 'VALIDATION_FAILED');
    expectError(await request(svc.app).get('/v1/subjects/%FF').set('Authorization', enroller), 400, 'VALIDATION_FAILED');
  });

  it.each(['0x10', ' 5 ', '5.0', '1e1', '+5', ''])('returns 400 VALIDATION_FAILED for topK=%j', async (topK) => {
    expectError(await search({ topK }), 400, 'VALIDATION_FAILED');
  });

  it('still accepts topK=5 and minSimilarity=0.5', async () => {
    expect((await search({ topK: '5', minSimilarity: '0.5' })).status).toBe(200);
  });

  it('names the JSON limit (not the upload limit) in the 413 for an oversized JSON body', async () => {
    const res = await subject({ notes: 'x'.repeat(300 * 1024) });
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.body.error.message).toContain('JSON');
    expect(res.body.error.details).toEqual({ limitBytes: 256 * 1024 });
  });

  it('labels errors in /metrics and logs with the real route template', async () => {
    logs.length = 0;
    const id = '00000000-0000-4000-8000-000000000000';
    await request(svc.app).get(`/v1/searches/${id}`).expect(401);
    await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', searcher).expect(404);
    await request(svc.app).post('/v1/searches').set('Authorization', enroller).expect(403);
    await request(svc.app).get('/v1/subjects/%FF').set('Authorization', enroller).expect(400);
    const metrics = (await request(svc.app).get('/metrics')).text;
    expect(metrics).toMatch(/facematch_http_requests_total\{method="GET",route="\/v1\/searches\/:id",status="401"\} \d/);
    expect(metrics).toMatch(/facematch_http_requests_total\{method="GET",route="\/v1\/searches\/:id",status="404"\} \d/);
    expect(metrics).toMatch(/facematch_http_requests_total\{method="POST",route="\/v1\/searches",status="403"\} \d/);
    expect(metrics).toMatch(/facematch_http_requests_total\{method="GET",route="\/v1\/subjects\/:id",status="400"\} \d/);
    expect(logs.filter((l) => l.msg === 'request').map((l) => [l.route, l.status])).toEqual([
      ['/v1/searches/:id', 401],
      ['/v1/searches/:id', 404],
      ['/v1/searches', 403],
      ['/v1/subjects/:id', 400],
      ['/metrics', 200],
    ]);
  });
});
