import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { createFaceRepo } from '../../src/modules/gallery/face.repo';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { DEFAULT_MODEL_ID, listManifests } from '../../src/platform/face/model-manifest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { sample } from '../helpers/fixtures';
import { cropFace } from '../helpers/images';

/**
 * A model switch (FACE_MODEL) re-embeds the gallery from the stored, encrypted enrolment photos: real models, real photos,
 * real database. The service started with the other model finds the subject only after re-embedding, since searches compare
 * like with like.
 */
/** From face-api's 128-d model (the first default) to the default when that is another model, else to any other model. */
const FROM: string = 'faceapi-ssd-r34-128-flip@1.7.15';
const other = DEFAULT_MODEL_ID !== FROM ? DEFAULT_MODEL_ID : [...listManifests().keys()].find((id) => id !== FROM)!;
const engineOpts = { backend: 'wasm' as const, workers: 1, queueLimit: 16, maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 };
let oldEngine: FaceEngine;
let newEngine: FaceEngine;
beforeAll(async () => {
  [oldEngine, newEngine] = await Promise.all([createFaceEngine({ ...engineOpts, modelId: FROM }), createFaceEngine({ ...engineOpts, modelId: other })]);
});
afterAll(async () => {
  await oldEngine?.close();
  await newEngine?.close();
});

describe.each(backends())('re-embedding for another model on $name', (backend) => {
  let t: TestDb;
  afterAll(() => t?.drop());

  it('derives a template of the new model from each stored photo, once, and the new model then finds the subject', async () => {
    expect(other).toBeDefined();
    t = await backend.open();
    // Both services are the same deployment: one database, one image key.
    const env = { FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const before = await startService(t.db, { engine: oldEngine, env });
    await before.startEngine();
    const enroller = (await before.key(['enroller'], 'fiu')).auth;
    await before.watchlist('fiu', 'w', [{ organization: 'bank-a', access: 'search' }]);
    const photo = sample(3);
    const box = (await oldEngine.analyze(photo)).faces[0]!.box;
    const crop = await cropFace(photo, box, 0.35);
    const s = await request(before.app).post('/v1/subjects').set('Authorization', enroller)
      .send({ displayName: 'Subject', category: 'fraud', watchlist: 'w', legalBasis: 'test' }).expect(201);
    const enrolled = await request(before.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', crop, 'f.jpg').expect(201);
    expect(enrolled.body.model).toBe(FROM);

    const after = await startService(t.db, { engine: newEngine, env, migrateFirst: false });
    await after.startEngine();
    const searcher = (await after.key(['searcher'], 'bank-a')).auth;
    const probe = await sharp(photo).jpeg({ quality: 80 }).toBuffer();
    const search = () => request(after.app).post('/v1/searches').set('Authorization', searcher).attach('image', probe, 'p.jpg')
      .field('purpose', 'model switch').field('caseRef', 'C-1');
    expect((await search().expect(200)).body.faces.every((f: { candidates: unknown[] }) => f.candidates.length === 0)).toBe(true);

    const faces = createFaceRepo();
    const pending = await faces.pendingReembed(t.db, other, 100);
    expect(pending.map((p) => p.id)).toEqual([enrolled.body.faceId]);
    const operator = { keyId: '00000000-0000-0000-0000-000000000000', organization: '*', roles: ['admin' as const] };
    const r = await after.subjects.reembedFace(operator, pending[0]!);
    expect(r.faceId).toEqual(expect.any(String));
    expect(await faces.pendingReembed(t.db, other, 100)).toEqual([]);

    const listed = await after.subjects.listFaces(operator, s.body.id);
    expect(listed.map((f) => f.modelId).sort()).toEqual([FROM, other].sort());
    const derived = await t.db.query<{ derived_from: string; model_id: string }>('SELECT derived_from, model_id FROM face WHERE id = $1', [r.faceId]);
    expect(derived.rows[0]).toEqual({ derived_from: enrolled.body.faceId, model_id: other });
    // The new template has its own encrypted copy of the photo and a new crop, readable by reviewers.
    const img = await after.subjects.faceImage(operator, s.body.id, r.faceId!, 'original');
    expect(img.bytes.equals(crop)).toBe(true);

    const hit = (await search().expect(200)).body;
    expect(hit.model.embedder).toBeDefined();
    expect(hit.faces[0].candidates[0]).toMatchObject({ subjectId: s.body.id, faceId: r.faceId });

    const events = await t.db.query<{ type: string; payload: Record<string, unknown> }>("SELECT type, payload FROM audit_event WHERE type = 'face.reembedded'");
    expect(events.rows).toEqual([{ type: 'face.reembedded', payload: expect.objectContaining({ fromFaceId: enrolled.body.faceId, modelId: other, faceId: r.faceId }) }]);
  });
});
