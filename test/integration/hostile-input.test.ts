import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { sample } from '../helpers/fixtures';
import { hostileImages } from '../helpers/hostile-images';
import { serviceEnv } from './oversight.fixtures';

/**
 * Hostile input through the HTTP API with the real face engine: every case gets a 4xx whose code API.md documents for that
 * status, or a 2xx (a search: with at least one face); no 5xx; and the service keeps serving normal searches afterwards.
 * The engine's decode limits are being reworked, so image cases assert the contract class, not one exact code.
 * Image cases run on the first backend (the database is not what they exercise); text, multipart and path cases on all.
 */
const DOCUMENTED: Record<string, number> = {
  UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, VALIDATION_FAILED: 400, UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413, IMAGE_TOO_LARGE: 422, NO_FACE: 422, UNKNOWN_WATCHLIST: 400, MULTIPLE_FACES: 422, LOW_QUALITY: 422,
  RATE_LIMITED: 429, PURPOSE_REQUIRED: 400, REQUEST_TIMEOUT: 408, DESTINATION_REFUSED: 400,
};
const UPLOAD_LIMIT = 4 * 1024 * 1024;
const PIXEL_LIMIT = 20_000_000;

function expectContract(res: request.Response, opts: { search?: boolean } = {}) {
  if (res.status < 300) {
    if (opts.search) expect(res.body.faces.length).toBeGreaterThan(0);
    return;
  }
  expect({ status: res.status, code: res.body?.error?.code, documentedStatus: DOCUMENTED[res.body?.error?.code] })
    .toEqual({ status: res.status, code: expect.any(String), documentedStatus: res.status });
  expect(res.status).toBeLessThan(500);
  expect(res.body.requestId).toEqual(expect.any(String));
}

let engine: FaceEngine;
let images: Awaited<ReturnType<typeof hostileImages>>;
beforeAll(async () => {
  engine = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 64, maxPixels: PIXEL_LIMIT, maxBytes: UPLOAD_LIMIT });
  images = await hostileImages(sample(1));
});
afterAll(() => engine?.close());

describe.each(backends().map((b, i) => ({ ...b, first: i === 0 })))('hostile input on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let searcher: string;
  let enroller: string;
  let subjectId: string;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine, env: { ...serviceEnv(), MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT), MAX_IMAGE_PIXELS: String(PIXEL_LIMIT) } });
    await svc.startEngine();
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    enroller = (await svc.key(['enroller'], 'bank-a')).auth;
    await svc.watchlist('bank-a', 'w');
    subjectId = (await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
      .send({ displayName: 'S', category: 'fraud', watchlist: 'w', legalBasis: 'test' }).expect(201)).body.id;
  });
  afterAll(() => t.drop());

  const search = (image: Buffer, name = 'probe.jpg', contentType = 'image/jpeg') =>
    request(svc.app).post('/v1/searches').set('Authorization', searcher)
      .attach('image', image, { filename: name, contentType }).field('purpose', 'hostile').field('caseRef', 'H-1');
  const raw = (path: string, contentType: string, body: string | Buffer) =>
    request(svc.app).post(path).set('Authorization', searcher).set('Content-Type', contentType).send(Buffer.from(body));
  const subject = (body: unknown) => request(svc.app).post('/v1/subjects').set('Authorization', enroller).send(body as object);
  const fields = (over: Record<string, unknown>) => ({ displayName: 'S', category: 'fraud', watchlist: 'w', legalBasis: 'test', ...over });

  const imageGroups = () => ['truncated', 'disguised', 'polyglots', 'floods', 'canvases', 'colour'] as const;
  // Image decoding does not depend on the database: the image cases are registered on the first backend only.
  const imageCases = backend.first;

  if (imageCases) it.each(imageGroups())('image group %s: every file is a documented 4xx or a 200 with a face', async (group) => {
    const list = images[group];
    expect(list.length).toBeGreaterThanOrEqual(5);
    const broken: string[] = [];
    for (const [name, bytes] of list) {
      const res = await search(bytes, `${name}.jpg`);
      try {
        expectContract(res, { search: true });
      } catch {
        broken.push(`${name}: ${res.status} ${res.body?.error?.code ?? ''}`);
      }
    }
    expect(broken).toEqual([]);
  });

  // Extreme aspect ratios were 500s with the tfjs engine (and broke the worker for the requests after them); the ONNX engine's
  // bounded pipeline answers them. On an engine of its own, so a regression cannot take the shared one down with it.
  if (imageCases) it('extreme aspect ratios are a documented 4xx or a 200 with a face, and the engine keeps working', async () => {
    const own = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 8, maxPixels: PIXEL_LIMIT, maxBytes: UPLOAD_LIMIT });
    try {
      const s2 = await startService(t.db, { engine: own, env: { ...serviceEnv(), MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT), MAX_IMAGE_PIXELS: String(PIXEL_LIMIT) }, migrateFirst: false });
      await s2.startEngine();
      for (const [, bytes] of images.extreme) {
        expectContract(await request(s2.app).post('/v1/searches').set('Authorization', searcher).attach('image', bytes, 'x.jpg')
          .field('purpose', 'p').field('caseRef', 'c'), { search: true });
      }
      const normal = await request(s2.app).post('/v1/searches').set('Authorization', searcher).attach('image', sample(3), 'n.jpg')
        .field('purpose', 'p').field('caseRef', 'c');
      expect(normal.status).toBe(200);
    } finally {
      await own.close();
    }
  });

  if (imageCases) it('enrolment and verification refuse hostile files the same way', async () => {
    for (const [, bytes] of [...images.floods.slice(0, 3), ...images.disguised.slice(0, 3), ...images.truncated.slice(0, 3)]) {
      expectContract(await request(svc.app).post(`/v1/subjects/${subjectId}/faces`).set('Authorization', enroller).attach('image', bytes, 'e.jpg'));
      expectContract(await request(svc.app).post('/v1/verify').set('Authorization', searcher).attach('image', bytes, 'v.jpg')
        .field('subjectId', subjectId).field('purpose', 'p').field('caseRef', 'c'));
    }
  });

  const B = 'hostileBoundary';
  const part = (name: string, value: string, extra = '') => `--${B}\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n\r\n${value}\r\n`;
  const filePart = (name: string, filename: string, bytes: Buffer) =>
    Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`, 'latin1'), bytes, Buffer.from('\r\n')]);
  const mp = (...parts: Array<string | Buffer>) => Buffer.concat([...parts.map((p) => Buffer.from(p as string)), Buffer.from(`--${B}--\r\n`)]);
  const ctype = `multipart/form-data; boundary=${B}`;
  const tinyJpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);

  const multipartCases: Array<[string, () => request.Test]> = [
    ['no image part', () => raw('/v1/searches', ctype, mp(part('purpose', 'p'), part('caseRef', 'c')))],
    ['two image parts', () => raw('/v1/searches', ctype, mp(filePart('image', 'a.jpg', tinyJpeg), filePart('image', 'b.jpg', tinyJpeg), part('purpose', 'p'), part('caseRef', 'c')))],
    ['the file in another field', () => raw('/v1/searches', ctype, mp(filePart('photo', 'a.jpg', tinyJpeg), part('purpose', 'p'), part('caseRef', 'c')))],
    ['an empty file', () => raw('/v1/searches', ctype, mp(filePart('image', 'a.jpg', Buffer.alloc(0)), part('purpose', 'p'), part('caseRef', 'c')))],
    ['35 text fields', () => raw('/v1/searches', ctype, mp(...Array.from({ length: 35 }, (_, i) => part(`f${i}`, 'x'))))],
    ['a 70 KB field', () => raw('/v1/searches', ctype, mp(part('purpose', 'x'.repeat(70 * 1024)), part('caseRef', 'c')))],
    ['duplicated purpose fields', () => raw('/v1/searches', ctype, mp(part('purpose', 'a'), part('purpose', 'b'), part('caseRef', 'c'), filePart('image', 'a.jpg', tinyJpeg)))],
    ['a path-traversal filename', () => raw('/v1/searches', ctype, mp(part('purpose', 'p'), part('caseRef', 'c'), filePart('image', '../../../../etc/passwd', tinyJpeg)))],
    ['CRLF injected into a filename', () => raw('/v1/searches', ctype, mp(part('purpose', 'p'), part('caseRef', 'c'), filePart('image', 'a.jpg"\r\nX-Evil: 1', tinyJpeg)))],
    ['a NUL in a field name', () => raw('/v1/searches', ctype, mp(part('pur\u0000pose', 'p'), part('caseRef', 'c')))],
    ['a header line of 20 KB', () => raw('/v1/searches', ctype, mp(part('purpose', 'p', `; x="${'a'.repeat(20_000)}"`), part('caseRef', 'c')))],
    ['50 empty parts', () => raw('/v1/searches', ctype, mp(...Array.from({ length: 50 }, () => `--${B}\r\n\r\n\r\n`)))],
    ['a 200-character boundary', () => raw('/v1/searches', `multipart/form-data; boundary=${'b'.repeat(200)}`, `--${'b'.repeat(200)}\r\n\r\n--${'b'.repeat(200)}--\r\n`)],
    ['no closing boundary', () => raw('/v1/searches', ctype, `${part('purpose', 'p')}${part('caseRef', 'c')}`)],
    ['multipart/form-data without a boundary', () => raw('/v1/searches', 'multipart/form-data', mp(part('purpose', 'p')))],
    ['a text/plain body', () => raw('/v1/searches', 'text/plain', 'purpose=p&caseRef=c')],
    ['a JSON body', () => raw('/v1/searches', 'application/json', '{"purpose":"p","caseRef":"c","image":"AAAA"}')],
    ['a urlencoded body', () => raw('/v1/searches', 'application/x-www-form-urlencoded', 'purpose=p&caseRef=c&image=%FF%D8')],
    ['an upload over the byte limit', () => search(Buffer.concat([images.base, Buffer.alloc(UPLOAD_LIMIT)]))],
    ['an unknown Content-Encoding', () => raw('/v1/subjects', 'application/json', '{}').set('Content-Encoding', 'br, x-evil')],
    ['JSON in UTF-16', () => raw('/v1/subjects', 'application/json; charset=utf-16', Buffer.from('{"a":1}', 'utf16le'))],
    ['JSON that is not JSON', () => raw('/v1/subjects', 'application/json', '{"displayName": "S",')],
  ];

  it.each(multipartCases)('multipart and body abuse: %s', async (_name, send) => {
    expectContract(await send());
  });

  const textCases: Array<[string, unknown]> = [
    ['NUL in displayName', fields({ displayName: 'a\u0000b' })],
    ['NUL in notes', fields({ notes: '\u0000' })],
    ['NUL in legalBasis', fields({ legalBasis: 'x\u0000' })],
    ['NUL in externalRef', fields({ externalRef: '\u0000\u0000' })],
    ['lone high surrogate', fields({ displayName: '\ud83d' })],
    ['lone low surrogate in notes', fields({ notes: 'a\ude00b' })],
    ['reversed surrogate pair', fields({ displayName: '\ude00\ud83d' })],
    ['right-to-left override', fields({ displayName: 'abc\u202Egpj.exe' })],
    ['zero-width characters only', fields({ displayName: '\u200B\u200C\u200D' })],
    ['emoji and astral characters', fields({ displayName: '𝔄𝔟𝔠 😀 家族' })],
    ['combining-character pile-up', fields({ displayName: 'Z' + '\u0301'.repeat(190) })],
    ['displayName of 201 characters', fields({ displayName: 'x'.repeat(201) })],
    ['notes of 5001 characters', fields({ notes: 'x'.repeat(5001) })],
    ['displayName of 100 000 characters', fields({ displayName: 'x'.repeat(100_000) })],
    ['a watchlist with a slash', fields({ watchlist: '../etc' })],
    ['a watchlist with unicode', fields({ watchlist: 'wätchlist' })],
    ['an unknown category', fields({ category: 'parking' })],
    ['an impossible date', fields({ reviewBy: '2026-02-30' })],
    ['an unknown field', fields({ isAdmin: true })],
    ['__proto__ pollution', JSON.parse('{"displayName":"S","category":"fraud","watchlist":"w","legalBasis":"t","__proto__":{"admin":true}}')],
    ['a number as displayName', fields({ displayName: 12345 })],
    ['an array body', [fields({})]],
    ['a string body', 'just a string'],
    ['null', null],
    ['an object nested 5000 deep', JSON.parse('{"a":'.repeat(5000) + '1' + '}'.repeat(5000))],
    ['control characters in displayName', fields({ displayName: 'a\u0001\u001b[31mred' })],
  ];

  it.each(textCases)('text abuse in a subject: %s', async (_name, body) => {
    expectContract(await (typeof body === 'string' || body === null ? raw('/v1/subjects', 'application/json', JSON.stringify(body)).set('Authorization', enroller) : subject(body)));
  });

  const searchFieldCases: Array<[string, Record<string, string>]> = [
    ['NUL in purpose', { purpose: 'p\u0000', caseRef: 'c' }],
    ['NUL in caseRef', { purpose: 'p', caseRef: '\u0000' }],
    ['purpose of 1001 characters', { purpose: 'x'.repeat(1001), caseRef: 'c' }],
    ['caseRef of 201 characters', { purpose: 'p', caseRef: 'x'.repeat(201) }],
    ['topK 1e309', { purpose: 'p', caseRef: 'c', topK: '1e309' }],
    ['topK -1', { purpose: 'p', caseRef: 'c', topK: '-1' }],
    ['minSimilarity NaN', { purpose: 'p', caseRef: 'c', minSimilarity: 'NaN' }],
    ['minSimilarity Infinity', { purpose: 'p', caseRef: 'c', minSimilarity: 'Infinity' }],
    ['mode in capitals', { purpose: 'p', caseRef: 'c', mode: 'SCREENING' }],
    ['60 watchlists', { purpose: 'p', caseRef: 'c', watchlists: Array.from({ length: 60 }, (_, i) => `w${i}`).join(',') }],
    ['a 101-character watchlist name', { purpose: 'p', caseRef: 'c', watchlists: 'w'.repeat(101) }],
    ['categories with an unknown one', { purpose: 'p', caseRef: 'c', categories: 'fraud,<script>' }],
  ];

  it.each(searchFieldCases)('text abuse in search fields: %s (refused before any analysis)', async (_name, f) => {
    const r = request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', tinyJpeg, 'p.jpg');
    for (const [k, v] of Object.entries(f)) r.field(k, v);
    const res = await r;
    expectContract(res);
    expect(res.status).toBe(400);
  });

  const pathCases: string[] = [
    '/v1/searches/..%2f..%2fetc%2fpasswd',
    '/v1/searches/%00',
    '/v1/searches/%2e%2e',
    '/v1/searches/%25E0%25A4',
    '/v1/searches/%E0%A4%A',
    '/v1/searches/%',
    `/v1/searches/${'a'.repeat(8000)}`,
    '/v1//searches',
    `/v1/searches/${randomUUID()}/../../keys`,
    `/v1/subjects/${randomUUID()}/faces/not-a-uuid/image`,
    `/v1/subjects/${randomUUID()}/faces/${randomUUID()}/image?variant=../../key`,
    '/v1/searches?limit=-1',
    '/v1/searches?limit=1e3',
    '/v1/searches?limit=0x10',
    '/v1/searches?from=not-a-date',
    '/v1/searches?cursor=%FF%FE',
    '/v1/searches?cursor=' + 'A'.repeat(5000),
    '/v1/searches?caseRef=%00',
    '/v1/audit/events?cursor=abc',
    '/v1/subjects?q=%F0%9F',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/v1/searches/\u00e9',
  ];

  it.each(pathCases)('path abuse: GET %s', async (path) => {
    const res = await request(svc.app).get(path).set('Authorization', searcher);
    expectContract(res);
  });

  // Webhook URLs an organization's admin might aim at the service's own network (no test override here: the real policy).
  const webhookCases: Array<[string, unknown]> = [
    ['loopback', 'https://127.0.0.1/'],
    ['loopback in hex', 'https://0x7f000001/'],
    ['loopback as one decimal', 'https://2130706433/'],
    ['loopback in octal', 'https://017700000001/'],
    ['loopback shortened', 'https://127.1/'],
    ['IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/'],
    ['IPv6 loopback', 'https://[::1]:5432/'],
    ['cloud metadata', 'https://169.254.169.254/latest/meta-data/'],
    ['private network', 'https://10.0.0.1/'],
    ['unique-local IPv6', 'https://[fd00::1]/'],
    ['unspecified', 'https://0.0.0.0/'],
    ['localhost', 'https://localhost/'],
    ['plain http', 'http://hooks.example.com/'],
    ['file URL', 'file:///etc/passwd'],
    ['credentials in the URL', 'https://admin:pw@hooks.example.com/'],
    ['a 3000-character URL', `https://hooks.example.com/${'a'.repeat(3000)}`],
    ['not a string', 42],
    ['a secret that is not whsec_', 'https://hooks.example.com/'],
  ];

  it.each(webhookCases)('hostile webhook registration: %s', async (name, url) => {
    const admin = (await svc.key(['admin'], 'bank-a')).auth;
    const body = name === 'a secret that is not whsec_' ? { url, secret: 'x'.repeat(40) } : { url };
    const res = await request(svc.app).put('/v1/webhooks').set('Authorization', admin).send(body);
    expectContract(res);
    expect(res.status).toBe(400);
    expect((await t.db.query("SELECT 1 FROM webhook WHERE organization = 'bank-a'")).rowCount).toBe(0);
  });

  it('keeps serving normal searches afterwards', async () => {
    const res = await search(sample(1), 'normal.jpg');
    expect(res.status).toBe(200);
    expect(res.body.faces.length).toBeGreaterThan(0);
    expect((await request(svc.app).get('/readyz')).status).toBe(200);
  });
});
