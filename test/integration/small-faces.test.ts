import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { countHits, faceFreeBackground, smallFacesScene } from '../../scripts/lib/small-faces-scene';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { sample, SAMPLES_DIR } from '../helpers/fixtures';
import { cropFace } from '../helpers/images';

/**
 * The small-face path end to end through the HTTP API, real models: a frame made of real photos (every face of face-api's six
 * demo photos but one pasted 56 px wide over a face-free part of demo photo 2, and the remaining one 400 px wide beside them).
 * A standard search finds the large face at the whole-image look and stops there; `detail=small-faces` runs every finer level
 * and finds the small faces too. The result and the audit event record which was asked for.
 */
let engine: FaceEngine;
let scene: Awaited<ReturnType<typeof smallFacesScene>>;
beforeAll(async () => {
  engine = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 4, maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 });
  const crops: Buffer[] = [];
  for (const n of [1, 2, 3, 4, 5, 6] as const) {
    for (const f of (await engine.analyze(sample(n))).faces) crops.push(await cropFace(sample(n), f.box, 0.25));
  }
  scene = await smallFacesScene(await faceFreeBackground(SAMPLES_DIR), crops.slice(1), { faceWidth: 56, portrait: crops[0] });
});
afterAll(() => engine?.close());

describe.each(backends())('small faces through POST /v1/searches on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let searcher: string;
  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine });
    await svc.startEngine();
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
  });
  afterAll(() => t.drop());

  const search = (fields: Record<string, string>) => {
    const req = request(svc.app).post('/v1/searches').set('Authorization', searcher).attach('image', scene.image, 'frame.jpg');
    for (const [k, v] of Object.entries({ purpose: 'Card-fraud investigation', caseRef: 'CASE-21', ...fields })) req.field(k, v);
    return req;
  };
  const boxes = (body: { faces: { box: { x: number; y: number; width: number; height: number } }[] }) => body.faces.map((f) => f.box);

  it('standard (the default): the large face, none of the small ones; small-faces: the large face and most small ones', async () => {
    const standard = await search({});
    expect(standard.status).toBe(200);
    expect(standard.body.probe.detail).toBe('standard');
    expect(countHits(boxes(standard.body), [scene.portraitBox!])).toBe(1);
    expect(countHits(boxes(standard.body), scene.boxes)).toBe(0);

    const small = await search({ detail: 'small-faces' });
    expect(small.status).toBe(200);
    expect(small.body.probe.detail).toBe('small-faces');
    expect(countHits(boxes(small.body), [scene.portraitBox!])).toBe(1);
    expect(countHits(boxes(small.body), scene.boxes)).toBeGreaterThanOrEqual(Math.ceil(scene.boxes.length / 2));
    expect(small.body.probe.facesDetected).toBe(small.body.faces.length);

    // The stored search and its audit event say which detection was asked for.
    const ev = await t.db.query<{ payload: { params: { detail: string }; facesDetected: number } }>('SELECT payload FROM audit_event WHERE search_id = $1', [small.body.searchId]);
    expect(ev.rows[0]!.payload).toMatchObject({ params: { detail: 'small-faces' }, facesDetected: small.body.faces.length });
    const stored = await request(svc.app).get(`/v1/searches/${small.body.searchId}`).set('Authorization', searcher);
    expect(stored.body.probe.detail).toBe('small-faces');
  });

  it('refuses an unknown detail with VALIDATION_FAILED before analysing anything', async () => {
    const r = await search({ detail: 'everything' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION_FAILED');
  });
});
