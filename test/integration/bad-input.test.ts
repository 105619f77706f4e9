import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { sample } from '../helpers/fixtures';
import { cropFace, declaredHugePng } from '../helpers/images';
import { fixedFaceEngine } from '../helpers/fake-engine';
import { OverloadedError } from '../../src/shared/errors';

/** Every bad input gets API.md's error code, and nothing is half-written. */
let engine: FaceEngine;
beforeAll(async () => {
  engine = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 16, maxPixels: 50_000_000, maxBytes: 2 * 1024 * 1024 });
});
afterAll(() => engine?.close());

const wall = () =>
  sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 180, g: 170, b: 160 } } })
    .composite([{ input: Buffer.from('<svg width="640" height="480"><rect x="100" y="100" width="200" height="120" fill="#654"/></svg>'), top: 0, left: 0 }])
    .jpeg()
    .toBuffer();

describe.each(backends())('bad inputs on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let searcher: string;
  let enroller: string;
  let subjectId: string;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine, env: { MAX_UPLOAD_BYTES: String(2 * 1024 * 1024) } });
    await svc.startEngine();
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    enroller = (await svc.key(['enroller'], 'fiu')).auth;
    await svc.watchlist('fiu', 'w', [{ organization: 'bank-a', access: 'search' }]);
    const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
      .send({ displayName: 'S', category: 'fraud', watchlist: 'w', legalBasis: 'test' });
    subjectId = s.body.id;
  });
  afterAll(() => t.drop());

  const counts = async () =>
    (await t.db.query<{ f: number; s: number; i: number }>(
      'SELECT (SELECT count(*)::int FROM face) AS f, (SELECT count(*)::int FROM search) AS s, (SELECT count(*)::int FROM face_image) AS i',
    )).rows[0];

  const search = (image: Buffer | null, fields: Record<string, string> = { purpose: 'p', caseRef: 'c' }, name = 'probe.jpg') => {
    const req = request(svc.app).post('/v1/searches').set('Authorization', searcher);
    if (image) req.attach('image', image, name);
    for (const [k, v] of Object.entries(fields)) req.field(k, v);
    return req;
  };
  const enrol = (image: Buffer, name = 'e.jpg') =>
    request(svc.app).post(`/v1/subjects/${subjectId}/faces`).set('Authorization', enroller).attach('image', image, name);

  const expectError = (res: request.Response, status: number, code: string) => {
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(res.body.requestId).toEqual(expect.any(String));
  };

  it('returns 400 PURPOSE_REQUIRED or CASE_REF_REQUIRED when purpose or caseRef is missing, before looking at the image', async () => {
    const before = await counts();
    expectError(await search(sample(1), { caseRef: 'c' }), 400, 'PURPOSE_REQUIRED');
    expectError(await search(sample(1), { purpose: '  ', caseRef: 'c' }), 400, 'PURPOSE_REQUIRED');
    const r = await search(randomBytes(100), { purpose: 'p' });
    expectError(r, 400, 'CASE_REF_REQUIRED');
    expect(r.body.error.details.missing).toEqual(['caseRef']);
    expect(await counts()).toEqual(before);
  });

  it('returns 422 NO_FACE for a photo of a wall', async () => {
    expectError(await search(await wall()), 422, 'NO_FACE');
    expectError(await enrol(await wall()), 422, 'NO_FACE');
  });

  it('returns 415 UNSUPPORTED_MEDIA_TYPE for random bytes, an SVG, a GIF and a truncated JPEG', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>');
    const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } }).gif().toBuffer();
    const truncated = sample(1).subarray(0, 2000);
    for (const [bytes, name] of [[randomBytes(4096), 'x.jpg'], [svg, 'x.svg'], [gif, 'x.gif'], [truncated, 't.jpg']] as const) {
      expectError(await search(bytes, undefined, name), 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    expectError(await enrol(randomBytes(4096)), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('returns 422 IMAGE_TOO_LARGE for a small PNG that declares 30000x30000 pixels', async () => {
    const png = declaredHugePng(30000, 30000);
    expect(png.length).toBeLessThan(100_000);
    const res = await search(png, undefined, 'bomb.png');
    expectError(res, 422, 'IMAGE_TOO_LARGE');
  });

  it('returns 413 PAYLOAD_TOO_LARGE over the byte limit', async () => {
    const big = Buffer.concat([sample(6), randomBytes(2 * 1024 * 1024)]);
    expectError(await search(big), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await enrol(big), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('returns 422 LOW_QUALITY with the failing checks when enrolling an under-exposed face, and stores nothing', async () => {
    // The largest face of sample 5 is in shadow (mean luminance of the aligned chip ≈ 45 of 255).
    const photo = sample(5);
    const box = (await engine.analyze(photo)).faces[0]!.box;
    const before = await counts();
    const res = await enrol(await cropFace(photo, box, 0.35));
    expectError(res, 422, 'LOW_QUALITY');
    expect(res.body.error.details).toMatchObject({ issues: ['POOR_EXPOSURE'], minScore: 0.5 });
    expect(res.body.error.details.score).toBeLessThan(0.5);
    expect(await counts()).toEqual(before);
  });

  it('returns 422 MULTIPLE_FACES when enrolling a group photo, with the boxes found, and stores nothing', async () => {
    const before = await counts();
    const res = await enrol(sample(2));
    expectError(res, 422, 'MULTIPLE_FACES');
    expect(res.body.error.details.facesDetected).toBeGreaterThanOrEqual(2);
    expect(res.body.error.details.boxes).toHaveLength(res.body.error.details.facesDetected);
    expect(await counts()).toEqual(before);
  });

  it('returns 400 VALIDATION_FAILED for a missing image, a bad topK, an unknown category and an unknown subject id format', async () => {
    expectError(await search(null), 400, 'VALIDATION_FAILED');
    expectError(await search(sample(1), { purpose: 'p', caseRef: 'c', topK: '500' }), 400, 'VALIDATION_FAILED');
    expectError(await search(sample(1), { purpose: 'p', caseRef: 'c', categories: 'fraud,parking' }), 400, 'VALIDATION_FAILED');
    expectError(await search(sample(1), { purpose: 'p', caseRef: 'c', mode: 'fishing' }), 400, 'VALIDATION_FAILED');
    const v = await request(svc.app).post('/v1/verify').set('Authorization', searcher).attach('image', sample(1), 'p.jpg')
      .field('subjectId', 'not-a-uuid').field('purpose', 'p').field('caseRef', 'c');
    expectError(v, 400, 'VALIDATION_FAILED');
  });

  it('returns 404 NOT_FOUND when enrolling into or verifying against a subject that does not exist', async () => {
    const ghost = '00000000-0000-4000-8000-000000000000';
    expectError(await request(svc.app).post(`/v1/subjects/${ghost}/faces`).set('Authorization', enroller).attach('image', sample(1), 'x.jpg'), 404, 'NOT_FOUND');
    const v = await request(svc.app).post('/v1/verify').set('Authorization', searcher).attach('image', sample(1), 'p.jpg')
      .field('subjectId', ghost).field('purpose', 'p').field('caseRef', 'c');
    expectError(v, 404, 'NOT_FOUND');
  });
});

describe('overload', () => {
  // The pool's admission (one running, queueLimit waiting, the rest refused at once) is tested in test/model/worker-pool.test.ts.
  // Here the engine refuses the first probe with the pool's own error, deterministically, to test what the API does with it.
  it('answers 503 OVERLOADED with Retry-After when the engine is at capacity, stores nothing, and serves the next search', async () => {
    const inner = fixedFaceEngine();
    let refuse = true;
    const engine: FaceEngine = {
      ...inner,
      model: inner.model,
      analyze(image, options) {
        if (refuse) {
          refuse = false;
          return Promise.reject(new OverloadedError(3));
        }
        return inner.analyze(image, options);
      },
    };
    const t = await backends()[0]!.open();
    try {
      const svc = await startService(t.db, { engine });
      await svc.startEngine();
      const searcher = (await svc.key(['searcher'], 'bank-a')).auth;
      const search = () => request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', sample(4), 'p.jpg').field('purpose', 'p').field('caseRef', 'c');
      const rejected = await search();
      expect(rejected.status).toBe(503);
      expect(rejected.body.error.code).toBe('OVERLOADED');
      expect(rejected.headers['retry-after']).toBe('3');
      expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM search')).rows[0]!.n).toBe(0);
      expect((await search()).status).toBe(200);
    } finally {
      await t.drop();
    }
  });
});
