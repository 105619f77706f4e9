import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { backends } from '../helpers/databases';
import { startService } from '../helpers/app';
import { datasetDir } from '../helpers/fixtures';

/**
 * The deepface set (../shared/datasets/deepface: 13 people, 3-8 photos each, 330-4600 px) through the HTTP API on PGlite:
 * enrol one photo per identity, search with every other photo, and require the right subject at rank 1 for the probe's
 * largest face in at least 90% of the searches. Skipped, with a note, where the data set is absent.
 */
const dir = datasetDir('deepface');
const run = dir ? describe : describe.skip;

run('deepface identification through the API', () => {
  let engine: FaceEngine;
  beforeAll(async () => {
    engine = await createFaceEngine({ backend: 'wasm', workers: 2, queueLimit: 64, maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 });
  });
  afterAll(() => engine?.close());

  it('finds the enrolled identity at rank 1 for at least 95% of the other photos', async () => {
    const backend = backends()[0]!;
    const t = await backend.open();
    try {
      const svc = await startService(t.db, { engine });
      await svc.startEngine();
      const enroller = (await svc.key(['enroller'], 'fiu')).auth;
      const searcher = (await svc.key(['searcher'], 'bank-a')).auth;
      await svc.watchlist('fiu', 'deepface', [{ organization: 'bank-a', access: 'search' }]);

      const rows = fs.readFileSync(path.join(dir!, 'identities.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
      const byIdentity = new Map<string, string[]>();
      for (const [image, id] of rows) byIdentity.set(id!, [...(byIdentity.get(id!) ?? []), image!]);

      // Enrol the first photo of each identity that the service accepts (one usable face); the rest are probes.
      const subjectOf = new Map<string, string>();
      const probes: { image: string; identity: string }[] = [];
      for (const [identity, images] of byIdentity) {
        const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller)
          .send({ displayName: identity, category: 'other', watchlist: 'deepface', legalBasis: 'test' }).expect(201);
        let enrolled = false;
        for (const image of images) {
          if (!enrolled) {
            const r = await request(svc.app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller)
              .attach('image', fs.readFileSync(path.join(dir!, image)), 'enrol.jpg');
            if (r.status === 201) {
              enrolled = true;
              subjectOf.set(identity, s.body.id);
              continue;
            }
          }
          probes.push({ image, identity });
        }
      }
      expect(subjectOf.size).toBe(byIdentity.size);

      let hits = 0;
      const misses: string[] = [];
      for (const p of probes) {
        const r = await request(svc.app).post('/v1/searches').set('Authorization', searcher)
          .attach('image', fs.readFileSync(path.join(dir!, p.image)), 'probe.jpg')
          .field('purpose', 'deepface evaluation').field('caseRef', 'EVAL-DEEPFACE').field('topK', '5');
        const top = r.status === 200 ? r.body.faces[0]?.candidates[0]?.subjectId : undefined;
        if (top === subjectOf.get(p.identity)) hits++;
        else misses.push(`${p.image} (${r.status === 200 ? `${r.body.faces.length} faces` : r.body.error?.code})`);
      }
      const rank1 = hits / probes.length;
      process.stdout.write(`[accuracy] deepface: rank-1 ${hits}/${probes.length} = ${rank1.toFixed(3)}; misses: ${misses.join(', ') || 'none'}\n`);
      expect(rank1).toBeGreaterThanOrEqual(0.95);
    } finally {
      await t.drop();
    }
  });
});
