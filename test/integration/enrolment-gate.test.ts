import sharp from 'sharp';
import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { sample } from '../helpers/fixtures';
import { cropFace } from '../helpers/images';

/**
 * Enrolment of the photos investigators have (issue 29), through POST /v1/subjects/:id/faces with the real default engine and
 * real faces from face-api's demo photos: a dominant face beside a background face, an ambiguous pair.
 */
let engine: FaceEngine;
/** Real face crops: the clear frontal face of sample 1 (index 0) and of sample 3 (index 0), each with a 30 % margin. */
let faceA: Buffer;
let faceB: Buffer;
beforeAll(async () => {
  engine = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 16, maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 });
  faceA = await cropFace(sample(1), (await engine.analyze(sample(1))).faces[0]!.box);
  faceB = await cropFace(sample(3), (await engine.analyze(sample(3))).faces[0]!.box);
}, 120_000);
afterAll(() => engine?.close());

const canvas = (width: number, height: number, parts: { img: Buffer; left: number; top: number }[]) =>
  sharp({ create: { width, height, channels: 3, background: { r: 120, g: 125, b: 130 } } })
    .composite(parts.map((p) => ({ input: p.img, left: p.left, top: p.top })))
    .jpeg({ quality: 92 })
    .toBuffer();
const resized = (img: Buffer, width: number) => sharp(img).resize({ width }).toBuffer();

/** A large real face in the middle and a small real face (≈ 1/20 of its area) pasted in the top-left corner. */
const dominantPhoto = async () => canvas(1000, 800, [{ img: await resized(faceA, 480), left: 300, top: 220 }, { img: await resized(faceB, 110), left: 10, top: 10 }]);
/** Two real faces of the same size side by side: no face is the subject. */
const pairPhoto = async () => canvas(1000, 760, [{ img: await resized(faceA, 420), left: 40, top: 40 }, { img: await resized(faceB, 420), left: 540, top: 40 }]);

describe.each(backends())('enrolment gate on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let enroller: string;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine });
    await svc.startEngine();
    enroller = (await svc.key(['enroller'], 'fiu')).auth;
    await svc.watchlist('fiu', 'w');
  });
  afterAll(() => t.drop());

  const newSubject = async () =>
    (await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'S', category: 'fraud', watchlist: 'w', legalBasis: 'test' }).expect(201)).body.id as string;
  const enrol = (subjectId: string, image: Buffer, fields: Record<string, string> = {}) => {
    const req = request(svc.app).post(`/v1/subjects/${subjectId}/faces`).set('Authorization', enroller).attach('image', image, 'e.jpg');
    for (const [k, v] of Object.entries(fields)) req.field(k, v);
    return req;
  };
  const faceCount = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM face')).rows[0]!.n;
  const lastEnrolled = async () =>
    (await t.db.query<{ payload: Record<string, unknown> }>("SELECT payload FROM audit_event WHERE type = 'face.enrolled' ORDER BY seq DESC LIMIT 1")).rows[0]!.payload;

  it('enrols the dominant face of a photo with a small face in the background, and reports the other face', async () => {
    const photo = await dominantPhoto();
    const { faces } = await engine.analyze(photo);
    expect(faces).toHaveLength(2); // the photo really has two faces the engine sees
    const id = await newSubject();
    const res = await enrol(id, photo);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ faceChosenBy: 'dominant', qualityOverruled: false, otherFaces: [expect.objectContaining({ width: expect.any(Number) })] });
    // The enrolled face is the large one in the middle, the other the one in the corner.
    expect(res.body.box.x).toBeGreaterThan(300);
    expect(res.body.otherFaces[0].x).toBeLessThan(120);
    expect(await lastEnrolled()).toMatchObject({ faceChosenBy: 'dominant', otherFaces: 1 });
    expect(JSON.stringify(await lastEnrolled())).not.toContain('"x"'); // counts in the chain, no boxes
  });

  it('refuses two faces of the same size with MULTIPLE_FACES, every box listed, and stores nothing', async () => {
    const id = await newSubject();
    const before = await faceCount();
    const res = await enrol(id, await pairPhoto());
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'MULTIPLE_FACES', details: { facesDetected: 2, dominantRatio: svc.config.matching.enrolDominantRatio } });
    expect(res.body.error.details.boxes).toHaveLength(2);
    expect(res.body.error.message).toMatch(/faceIndex/);
    expect(await faceCount()).toBe(before);
  });

  it('refuses the dominant-face photo too when ENROL_DOMINANT_RATIO is 0 (the rule before issue 29)', async () => {
    const strict = await startService(t.db, { engine, migrateFirst: false, env: { ENROL_DOMINANT_RATIO: '0' } });
    await strict.startEngine();
    const id = await newSubject();
    const res = await request(strict.app).post(`/v1/subjects/${id}/faces`).set('Authorization', enroller).attach('image', await dominantPhoto(), 'e.jpg');
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'MULTIPLE_FACES', details: { facesDetected: 2, dominantRatio: null } });
  });

  it('enrols the face a client chose in a group photo, by faceIndex as MULTIPLE_FACES lists it and by box', async () => {
    const id = await newSubject();
    const refused = await enrol(id, sample(1)).expect(422);
    expect(refused.body.error.code).toBe('MULTIPLE_FACES');
    const boxes = refused.body.error.details.boxes as { x: number; y: number; width: number; height: number }[];
    expect(boxes).toHaveLength(3);

    const byIndex = await enrol(id, sample(1), { faceIndex: '2' }).expect(201);
    expect(byIndex.body).toMatchObject({ faceChosenBy: 'faceIndex', box: boxes[2], otherFaces: [boxes[0], boxes[1]] });
    // A box drawn roughly around face 1 (shifted and grown, as a click-and-drag would be) picks face 1.
    const b = boxes[1]!;
    const drawn = { x: Math.round(b.x - 20), y: Math.round(b.y + 15), width: Math.round(b.width * 1.2), height: Math.round(b.height * 1.1) };
    const byBox = await enrol(id, sample(1), { box: JSON.stringify(drawn) }).expect(201);
    expect(byBox.body).toMatchObject({ faceChosenBy: 'box', box: boxes[1], otherFaces: [boxes[0], boxes[2]] });
    expect(await lastEnrolled()).toMatchObject({ faceChosenBy: 'box', otherFaces: 2 });
    const listed = (await request(svc.app).get(`/v1/subjects/${id}`).set('Authorization', enroller).expect(200)).body.faces;
    expect(listed.map((f: { box: unknown }) => f.box)).toEqual(expect.arrayContaining([boxes[1], boxes[2]]));
  });

  it('refuses a faceIndex past the faces, a box over no face (NO_FACE with the boxes) and both at once (VALIDATION_FAILED)', async () => {
    const id = await newSubject();
    const before = await faceCount();
    const past = await enrol(id, sample(1), { faceIndex: '3' }).expect(422);
    expect(past.body.error).toMatchObject({ code: 'NO_FACE', details: { facesDetected: 3 } });
    expect(past.body.error.details.boxes).toHaveLength(3);
    const nowhere = await enrol(id, sample(1), { box: JSON.stringify({ x: 5, y: 1200, width: 40, height: 40 }) }).expect(422);
    expect(nowhere.body.error).toMatchObject({ code: 'NO_FACE', details: { facesDetected: 3 } });
    const both = await enrol(id, sample(1), { faceIndex: '0', box: JSON.stringify({ x: 0, y: 0, width: 10, height: 10 }) }).expect(400);
    expect(both.body.error.code).toBe('VALIDATION_FAILED');
    expect((await enrol(id, sample(1), { box: '{"x":1}' }).expect(400)).body.error.code).toBe('VALIDATION_FAILED');
    expect((await enrol(id, sample(1), { faceIndex: '-1' }).expect(400)).body.error.code).toBe('VALIDATION_FAILED');
    expect(await faceCount()).toBe(before);
  });

  it('enrols a face below the quality gate only with acceptQuality=true: stored flagged, its issues kept, audited as overruled', async () => {
    // The largest face of sample 5 is in shadow: a real face below the gate (POOR_EXPOSURE), above the floor.
    const shadowed = await cropFace(sample(5), (await engine.analyze(sample(5))).faces[0]!.box, 0.35);
    const id = await newSubject();
    const before = await faceCount();
    const refused = await enrol(id, shadowed).expect(422);
    expect(refused.body.error).toMatchObject({ code: 'LOW_QUALITY', details: { issues: ['POOR_EXPOSURE'], minScore: 0.5, floor: 0.25, overrulable: true } });
    expect(refused.body.error.message).toMatch(/acceptQuality=true/);
    expect(await faceCount()).toBe(before);

    const accepted = await enrol(id, shadowed, { acceptQuality: 'true' }).expect(201);
    expect(accepted.body).toMatchObject({ qualityOverruled: true, faceChosenBy: 'only', quality: { issues: ['POOR_EXPOSURE'] } });
    expect(accepted.body.quality.score).toBeLessThan(0.5);
    const listed = (await request(svc.app).get(`/v1/subjects/${id}`).set('Authorization', enroller).expect(200)).body.faces;
    expect(listed).toEqual([expect.objectContaining({ id: accepted.body.faceId, qualityOverruled: true, quality: expect.objectContaining({ issues: ['POOR_EXPOSURE'] }) })]);
    expect(await lastEnrolled()).toMatchObject({ faceId: accepted.body.faceId, qualityOverruled: true, minQuality: 0.5, quality: { issues: ['POOR_EXPOSURE'] } });

    // A face that passes is not marked, even when the request accepts quality.
    const good = await enrol(id, faceA, { acceptQuality: 'true' }).expect(201);
    expect(good.body.qualityOverruled).toBe(false);
    expect((await lastEnrolled()).qualityOverruled).toBeUndefined();

    // A search that finds the overruled template marks its candidate; the passing template's candidate carries no marker.
    const searcher = (await svc.key(['searcher'], 'fiu')).auth;
    const found = async (probe: Buffer, faceId: string) => {
      const r = await request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', probe, 'p.jpg').field('purpose', 'p').field('caseRef', 'c').expect(200);
      lastSearch = r.body.searchId as string;
      return (r.body.faces[0].candidates as { faceId: string; qualityOverruled?: boolean }[]).find((c) => c.faceId === faceId);
    };
    let lastSearch = '';
    expect(await found(shadowed, accepted.body.faceId)).toMatchObject({ qualityOverruled: true });
    // The case file says so beside the candidate.
    const html = (await request(svc.app).get(`/v1/searches/${lastSearch}/report?format=html`).set('Authorization', searcher).expect(200)).text;
    expect(html).toContain('accepted by the enroller');
    const passing = await found(faceA, good.body.faceId);
    expect(passing).toBeDefined();
    expect(passing).not.toHaveProperty('qualityOverruled');
    const plain = (await request(svc.app).get(`/v1/searches/${lastSearch}/report?format=html`).set('Authorization', searcher).expect(200)).text;
    expect(plain).not.toContain('accepted by the enroller');
  });

  it("applies the watchlist's overrule policy, which only the owner's admin sets: never refuses what the request accepts, always enrols it unasked", async () => {
    const shadowed = await cropFace(sample(5), (await engine.analyze(sample(5))).faces[0]!.box, 0.35);
    const admin = (await svc.key(['admin'], 'fiu')).auth;
    const otherAdmin = (await svc.key(['admin'], 'other')).auth;
    const wid = await svc.watchlist('fiu', 'policy');
    const wl = () => request(svc.app).get(`/v1/watchlists/${wid}`).set('Authorization', admin);
    expect((await wl().expect(200)).body.enrolment).toEqual({ acceptQuality: 'on_request' });
    const patch = (auth: string, body: object) => request(svc.app).patch(`/v1/watchlists/${wid}`).set('Authorization', auth).send(body);
    expect((await patch(enroller, { enrolment: { acceptQuality: 'always' } }).expect(403)).body.error.code).toBe('FORBIDDEN');
    expect((await patch(otherAdmin, { enrolment: { acceptQuality: 'always' } })).status).toBe(404);
    expect((await patch(admin, { enrolment: { acceptQuality: 'sometimes' } }).expect(400)).body.error.code).toBe('VALIDATION_FAILED');
    expect((await wl()).body.enrolment.acceptQuality).toBe('on_request');

    const updated = await patch(admin, { enrolment: { acceptQuality: 'never' } }).expect(200);
    expect(updated.body.enrolment).toEqual({ acceptQuality: 'never' });
    const ev = (await t.db.query<{ payload: Record<string, unknown> }>("SELECT payload FROM audit_event WHERE type = 'watchlist.updated' ORDER BY seq DESC LIMIT 1")).rows[0]!.payload;
    expect(ev).toMatchObject({ watchlistId: wid, fields: ['enrolment'], enrolmentAcceptQuality: { from: 'on_request', to: 'never' } });
    // The enroller can still change the other fields.
    await patch(enroller, { description: 'policy test' }).expect(200);

    const subject = (await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'P', category: 'fraud', watchlist: 'policy', legalBasis: 'test' }).expect(201)).body.id as string;
    const before = await faceCount();
    const refused = await enrol(subject, shadowed, { acceptQuality: 'true' }).expect(422);
    expect(refused.body.error).toMatchObject({ code: 'LOW_QUALITY', details: { overrulable: false, policy: 'never' } });
    expect(refused.body.error.message).toMatch(/policy allows no overrule/);
    expect(await faceCount()).toBe(before);
    // A face that passes the gate is enrolled whatever the policy.
    await enrol(subject, faceA).expect(201);

    await patch(admin, { enrolment: { acceptQuality: 'always' } }).expect(200);
    const accepted = await enrol(subject, shadowed).expect(201);
    expect(accepted.body).toMatchObject({ qualityOverruled: true, quality: { issues: ['POOR_EXPOSURE'] } });
    expect(await lastEnrolled()).toMatchObject({ faceId: accepted.body.faceId, qualityOverruled: true, overruledBy: 'watchlist' });

    // A watchlist created with its policy (admin only), and the request's own overrule recorded as such.
    const created = await request(svc.app).post('/v1/watchlists').set('Authorization', admin).send({ name: 'strict', jurisdiction: 'x', legalBasis: 'y', enrolment: { acceptQuality: 'never' } }).expect(201);
    expect(created.body.enrolment).toEqual({ acceptQuality: 'never' });
    await request(svc.app).post('/v1/watchlists').set('Authorization', enroller).send({ name: 'strict2', jurisdiction: 'x', legalBasis: 'y', enrolment: { acceptQuality: 'always' } }).expect(403);
    await enrol(await newSubject(), shadowed, { acceptQuality: 'true' }).expect(201);
    expect(await lastEnrolled()).toMatchObject({ qualityOverruled: true, overruledBy: 'request' });
  });

  it('refuses a face under ENROL_QUALITY_FLOOR even with acceptQuality=true', async () => {
    const shadowed = await cropFace(sample(5), (await engine.analyze(sample(5))).faces[0]!.box, 0.35);
    const strict = await startService(t.db, { engine, migrateFirst: false, env: { ENROL_QUALITY_FLOOR: '0.49' } });
    await strict.startEngine();
    const id = await newSubject();
    const before = await faceCount();
    const res = await request(strict.app).post(`/v1/subjects/${id}/faces`).set('Authorization', enroller).attach('image', shadowed, 'e.jpg').field('acceptQuality', 'true');
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'LOW_QUALITY', details: { floor: 0.49, overrulable: false } });
    expect(await faceCount()).toBe(before);
  });
});
