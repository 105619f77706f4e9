import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { calibrationFile } from '../../src/platform/face/calibration.store';
import { createInProcessFaceEngine } from '../../src/platform/face/face-engine';
import { MODELS_DIR, netDir, readManifest, type ModelManifest } from '../../src/platform/face/model-manifest';
import { startService } from '../helpers/app';
import { backends } from '../helpers/databases';
import { sample } from '../helpers/fixtures';
import { cropFace } from '../helpers/images';

/**
 * "Bring your own model" (docs/models.md): a deployment's own ONNX files and manifest in FACE_MODELS_DIR, under its own model id.
 * Here the deployment's "own" model is a copy of the shipped ONNX files, so its templates must equal the shipped model's.
 */
const SHIPPED = 'ultraface-mfn512@fp0.0.1';
const OWN = 'acme-arcface@2026.1';
const limits = { maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 };

function ownModelsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facematch-models-'));
  const shipped = readManifest(SHIPPED);
  fs.mkdirSync(path.join(dir, 'weights'));
  const own: ModelManifest = {
    ...shipped,
    id: OWN,
    dir: undefined,
    models: shipped.models.map((net) => {
      const file = net.files[0]!;
      const copy = `weights/${path.basename(file.path)}`;
      fs.copyFileSync(path.join(netDir(shipped, net), file.path), path.join(dir, copy));
      return { ...net, source: 'manifest-dir', files: [{ path: copy, sha256: file.sha256 }] };
    }),
  };
  delete own.dir;
  fs.writeFileSync(path.join(dir, 'acme.manifest.json'), JSON.stringify(own, null, 2));
  // Its calibration table (a deployment would make it with `npm run eval -- --calibrate` on its own labelled pairs).
  const table = JSON.parse(fs.readFileSync(calibrationFile(SHIPPED, path.join(MODELS_DIR, 'calibration')), 'utf8'));
  fs.mkdirSync(path.join(dir, 'calibration'));
  fs.writeFileSync(calibrationFile(OWN, path.join(dir, 'calibration')), JSON.stringify({ ...table, modelId: OWN }));
  return dir;
}

describe('a deployment’s own ONNX model from FACE_MODELS_DIR', () => {
  let dir: string;
  beforeAll(() => {
    dir = ownModelsDir();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads under its own id, checksummed, and computes the same templates as the files it copies', async () => {
    const [own, shipped] = await Promise.all([
      createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: OWN, modelsDir: dir }),
      createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: SHIPPED }),
    ]);
    expect(own.model.id).toBe(OWN);
    expect(own.model.weightsSha256).toBe(shipped.model.weightsSha256);
    const [a, b] = [await own.analyze(sample(3)), await shipped.analyze(sample(3))];
    expect(a.faces.length).toBe(b.faces.length);
    a.faces.forEach((f, i) => expect(f.embedding).toEqual(b.faces[i]!.embedding));
  });

  it('refuses to start when one of its files does not match the manifest’s SHA-256, naming the file', async () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'facematch-models-bad-'));
    try {
      fs.cpSync(dir, bad, { recursive: true });
      const f = path.join(bad, 'weights', 'fr_feature.onnx');
      const bytes = fs.readFileSync(f);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      fs.writeFileSync(f, bytes);
      await expect(createInProcessFaceEngine({ backend: 'wasm', ...limits, modelId: OWN, modelsDir: bad })).rejects.toThrow(/fr_feature\.onnx fails its SHA-256 check/);
    } finally {
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });

  it('serves searches with FACE_MODEL and FACE_MODELS_DIR set (its calibration table read from the same folder)', async () => {
    const t = await backends()[0]!.open();
    const svc = await startService(t.db, { env: { FACE_MODEL: OWN, FACE_MODELS_DIR: dir, FACE_WORKERS: '1' } });
    try {
      const engine = await svc.startEngine();
      expect(engine.model.id).toBe(OWN);
      const enroller = (await svc.key(['enroller'], 'fiu')).auth;
      const searcher = (await svc.key(['searcher'], 'bank-a')).auth;
      await svc.watchlist('fiu', 'own-model', [{ organization: 'bank-a', access: 'search' }]);
      const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
        .send({ displayName: 'Own-model subject', category: 'fraud', watchlist: 'own-model', legalBasis: 'test' });
      expect(s.status).toBe(201);
      const probe = await engine.analyze(sample(3));
      const crop = await cropFace(sample(3), probe.faces[0]!.box, 0.35);
      await request(svc.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', crop, 'f.jpg').expect(201);
      const res = await request(svc.app).post('/v1/searches').set('Authorization', searcher)
        .field('purpose', 'own model test').field('caseRef', 'OWN-1').attach('image', sample(3), 'p.jpg');
      expect(res.status).toBe(200);
      expect(res.body.model.embedder).toBe(engine.model.embedder);
      expect(res.body.faces[0].candidates[0]).toMatchObject({ rank: 1, subjectId: s.body.id });
    } finally {
      await svc.close();
      await t.drop();
    }
  });
});
