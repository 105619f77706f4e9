import sharp from 'sharp';
import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { sample } from '../helpers/fixtures';
import { textHmac } from '../../src/modules/audit/audit.model';

/**
 * The match pipeline end to end through the HTTP API: real models (WASM), real group photos, real database.
 * One engine serves every backend in this file (model load is the slow part).
 */
let engine: FaceEngine;
beforeAll(async () => {
  engine = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 16, maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 });
});
afterAll(() => engine?.close());

/** A crop around the largest face of a photo, with a margin that keeps neighbours out. */
async function cropLargestFace(photo: Buffer, margin = 0.35) {
  const { faces, width, height } = await engine.analyze(photo);
  const b = faces[0]!.box;
  const left = Math.max(0, Math.round(b.x - b.width * margin));
  const top = Math.max(0, Math.round(b.y - b.height * margin));
  const w = Math.min(width - left, Math.round(b.width * (1 + 2 * margin)));
  const h = Math.min(height - top, Math.round(b.height * (1 + 2 * margin)));
  return { crop: await sharp(photo).extract({ left, top, width: w, height: h }).jpeg({ quality: 92 }).toBuffer(), box: b };
}

const centre = (b: { x: number; y: number; width: number; height: number }) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

describe.each(backends())('match pipeline on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let enroller: string;
  let searcher: string;
  let otherOrg: string;
  let subjectId: string;
  let enrolledBox: { x: number; y: number; width: number; height: number };

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine });
    await svc.startEngine();
    enroller = (await svc.key(['enroller'], 'fiu')).auth;
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    otherOrg = (await svc.key(['searcher', 'reviewer'], 'bank-b')).auth;
    // The FIU's watchlists, shared with bank-a for search (bank-b holds no grant).
    for (const name of ['general', 'fraud-ring-7']) await svc.watchlist('fiu', name, [{ organization: 'bank-a', access: 'search' }]);

    // A gallery of the faces of two other photos as distractors, then the subject of interest cropped from sample 3.
    for (const n of [1, 6] as const) {
      const { crop } = await cropLargestFace(sample(n));
      const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
        .send({ displayName: `Distractor ${n}`, category: 'other', watchlist: 'general', legalBasis: 'test' });
      await request(svc.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', crop, 'd.jpg').expect(201);
    }
    const created = await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
      .send({ displayName: 'Subject of interest', category: 'fraud', watchlist: 'fraud-ring-7', legalBasis: 'Art. 6(1)(e) GDPR; case 2026/117', caseRef: 'CASE-117', reviewBy: '2027-06-30' });
    expect(created.status).toBe(201);
    subjectId = created.body.id;
    const { crop, box } = await cropLargestFace(sample(3));
    enrolledBox = box;
    const enrolled = await request(svc.app).post(`/v1/subjects/${subjectId}/faces`).set('Authorization', enroller).attach('image', crop, 'face.jpg').field('source', 'sample3 crop');
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({ faceId: expect.any(String), model: engine.model.id, quality: { score: expect.any(Number) } });
  });
  afterAll(() => t.drop());

  const search = (image: Buffer, fields: Record<string, string> = {}, auth = searcher) => {
    const req = request(svc.app).post('/v1/searches').set('Authorization', auth).attach('image', image, 'probe.jpg');
    for (const [k, v] of Object.entries({ purpose: 'Card-fraud investigation', caseRef: 'CASE-117', ...fields })) req.field(k, v);
    return req;
  };

  it('searching the full group photo returns the enrolled subject at rank 1 for the right face, and for no other face above the screening threshold', async () => {
    const res = await search(sample(3));
    expect(res.status).toBe(200);
    const body = res.body;
    expect(body.probe.facesDetected).toBeGreaterThanOrEqual(3);
    expect(body.faces).toHaveLength(body.probe.facesDetected);
    const areas = body.faces.map((f: { box: { width: number; height: number } }) => f.box.width * f.box.height);
    expect(areas).toEqual([...areas].sort((a: number, b: number) => b - a));
    const c = centre(enrolledBox);
    const right = body.faces.find((f: { box: typeof enrolledBox }) => Math.abs(centre(f.box).x - c.x) < f.box.width / 2 && Math.abs(centre(f.box).y - c.y) < f.box.height / 2);
    expect(right.candidates[0]).toMatchObject({ rank: 1, subjectId, displayName: 'Subject of interest', watchlist: 'fraud-ring-7', category: 'fraud' });
    expect(right.candidates[0].similarity).toBeGreaterThanOrEqual(body.thresholds.screeningSimilarity);
    expect(right.candidates[0].estimatedFalseMatchRate).toBeLessThanOrEqual(1e-3);
    for (const f of body.faces.filter((x: unknown) => x !== right)) {
      const hit = f.candidates.find((k: { subjectId: string }) => k.subjectId === subjectId);
      if (hit) expect(hit.similarity).toBeLessThan(body.thresholds.screeningSimilarity);
    }
    expect(body.humanReviewRequired).toBe(true);
    expect(body.reviewReasons).toEqual(expect.arrayContaining(['CANDIDATES_ARE_LEADS_ONLY', 'MULTIPLE_PROBE_FACES']));
    expect(body.model).toMatchObject({ id: engine.model.id, weightsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(body.gallery.templates).toBe(3);
  });

  it.each([
    ['rescaled to 45%', (b: Buffer) => sharp(b).resize({ width: 864 }).jpeg().toBuffer()],
    ['re-encoded at JPEG quality 60', (b: Buffer) => sharp(b).jpeg({ quality: 60 }).toBuffer()],
    ['rotated via an EXIF orientation tag', (b: Buffer) => sharp(b).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toBuffer()],
    ['converted to greyscale', (b: Buffer) => sharp(b).greyscale().jpeg().toBuffer()],
    ['as PNG', (b: Buffer) => sharp(b).png().toBuffer()],
    ['as WebP', (b: Buffer) => sharp(b).webp().toBuffer()],
  ])('still returns the subject at rank 1 when the probe is %s', async (_name, transform) => {
    const res = await search(await transform(sample(3)));
    expect(res.status).toBe(200);
    const tops = res.body.faces.map((f: { candidates: { subjectId: string }[] }) => f.candidates[0]?.subjectId);
    expect(tops).toContain(subjectId);
  });

  it('screening mode returns only candidates above the screening threshold: a hit for the subject, nothing for strangers', async () => {
    const hit = await search(sample(3), { mode: 'screening' });
    expect(hit.status).toBe(200);
    const all = hit.body.faces.flatMap((f: { candidates: unknown[] }) => f.candidates);
    expect(all.map((c: { subjectId: string }) => c.subjectId)).toContain(subjectId);
    for (const c of all) expect(c.similarity).toBeGreaterThanOrEqual(hit.body.thresholds.screeningSimilarity);
    const miss = await search(sample(2), { mode: 'screening' });
    expect(miss.status).toBe(200);
    expect(miss.body.faces.flatMap((f: { candidates: unknown[] }) => f.candidates)).toEqual([]);
  });

  it('honours topK and watchlist/category filters', async () => {
    const one = await search(sample(3), { topK: '1' });
    for (const f of one.body.faces) expect(f.candidates.length).toBeLessThanOrEqual(1);
    const filtered = await search(sample(3), { watchlists: 'general', categories: 'other' });
    for (const f of filtered.body.faces) for (const c of f.candidates) expect(c.watchlist).toBe('general');
  });

  it('stores the search with the probe hash (not the image), audits it in the same transaction, and scopes reads to the organization', async () => {
    const res = await search(sample(3));
    const id = res.body.searchId;
    const stored = await t.db.query<{ probe_sha256: string; result: { audit: { seq: number } } }>('SELECT probe_sha256, result FROM search WHERE id = $1', [id]);
    expect(stored.rows[0]!.probe_sha256).toBe(res.body.probe.sha256);
    const ev = await t.db.query<{ type: string; payload: { probeSha256: string; purposeHmac: string }; salt: string }>(
      'SELECT e.type, e.payload, t.salt FROM audit_event e JOIN audit_text t ON t.seq = e.seq WHERE e.search_id = $1',
      [id],
    );
    expect(ev.rows).toHaveLength(1);
    // The purpose enters the chain as an HMAC keyed with the event's salt (audit_text), not as text.
    expect(ev.rows[0]).toMatchObject({ type: 'search.run', payload: { probeSha256: res.body.probe.sha256, purposeHmac: textHmac(ev.rows[0]!.salt, 'Card-fraud investigation') } });
    expect(ev.rows[0]!.payload).not.toHaveProperty('purpose');
    expect(JSON.stringify(ev.rows[0]!.payload)).not.toMatch(/embedding|\[(-?0\.\d+,){20}/);

    const own = await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', searcher);
    expect(own.status).toBe(200);
    expect(own.body.searchId).toBe(id);
    const foreign = await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', otherOrg);
    expect(foreign.status).toBe(404);
    const list = await request(svc.app).get('/v1/searches').set('Authorization', otherOrg);
    expect(list.body.items.map((s: { searchId: string }) => s.searchId)).not.toContain(id);
  });

  it('fails the search, and stores nothing, when its audit event cannot be written', async () => {
    const before = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM search');
    await t.db.exec(`CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store down'; END $$;
      CREATE TRIGGER fail_audit BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION fail_audit();`);
    try {
      const res = await search(sample(3));
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('INTERNAL');
      expect(JSON.stringify(res.body)).not.toContain('audit store down');
    } finally {
      await t.db.exec('DROP TRIGGER fail_audit ON audit_event; DROP FUNCTION fail_audit();');
    }
    const after = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM search');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('verifies 1:1 against the subject: a match for the subject photo, no match for a stranger', async () => {
    const v = (image: Buffer) =>
      request(svc.app).post('/v1/verify').set('Authorization', searcher).attach('image', image, 'p.jpg')
        .field('subjectId', subjectId).field('purpose', 'KYC onboarding check').field('caseRef', 'KYC-1');
    const same = await v((await cropLargestFace(sample(3), 0.6)).crop);
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ match: true, humanReviewRequired: true });
    const stranger = await v((await cropLargestFace(sample(2), 0.6)).crop);
    expect(stranger.status).toBe(200);
    expect(stranger.body.match).toBe(false);
    expect(stranger.body.similarity).toBeLessThan(stranger.body.threshold);
  });

  it('keeps enrolled images encrypted at rest and returns them decrypted to reviewers', async () => {
    const faceId = (await t.db.query<{ id: string }>('SELECT id FROM face WHERE subject_id = $1', [subjectId])).rows[0]!.id;
    const raw = await t.db.query<{ ciphertext: Uint8Array }>("SELECT ciphertext FROM face_image WHERE face_id = $1 AND variant = 'original'", [faceId]);
    expect(Buffer.from(raw.rows[0]!.ciphertext).subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(false);
    // The owner's reviewer reads them decrypted; the grantee's reviewer (bank-a holds a search grant) does not (issue 27).
    const reviewer = (await svc.key(['reviewer'], 'fiu')).auth;
    const grantee = (await svc.key(['reviewer'], 'bank-a')).auth;
    for (const variant of ['original', 'crop']) {
      expect((await request(svc.app).get(`/v1/subjects/${subjectId}/faces/${faceId}/image?variant=${variant}`).set('Authorization', grantee)).status).toBe(404);
      const img = await request(svc.app).get(`/v1/subjects/${subjectId}/faces/${faceId}/image?variant=${variant}`).set('Authorization', reviewer).buffer(true);
      expect(img.status).toBe(200);
      expect(img.headers['content-type']).toBe('image/jpeg');
      const meta = await sharp(img.body as Buffer).metadata();
      expect(meta.width).toBeGreaterThan(50);
    }
    const denied = await request(svc.app).get(`/v1/subjects/${subjectId}/faces/${faceId}/image`).set('Authorization', searcher);
    expect(denied.status).toBe(403);
  });
});
