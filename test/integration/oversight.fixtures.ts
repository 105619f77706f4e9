import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import type { Db } from '../../src/shared/db';
import type { scriptedEngine } from '../helpers/fake-engine';
import { blankImage } from '../helpers/images';

/**
 * Subjects and stored searches made through the HTTP API, with the scripted stand-in engine for the face part: a probe face of
 * identity N matches the subject enrolled with identity N at similarity 1; other subjects in scope come back as weaker candidates
 * in investigative mode. Everything after the engine (kNN, matching policy, storage, audit) is the real service.
 */
export function scriptedGallery(app: Express, fake: ReturnType<typeof scriptedEngine>) {
  let images = 0;
  /** Distinct image bytes showing one scripted face per identity (face i is identities[i]). */
  const photo = async (identities: number[]) =>
    fake.script(await blankImage(64, 64, { r: ++images % 256, g: (images >> 8) % 256, b: 201 }), identities.map((identity) => ({ identity })));
  return {
    /** Creates a subject on `watchlist` and enrols one photo per identity; returns the subject id. */
    async enrol(auth: string, fields: { displayName: string; watchlist: string; category?: string }, identities: number[]): Promise<string> {
      const s = await request(app).post('/v1/subjects').set('Authorization', auth)
        .send({ category: 'fraud', legalBasis: 'test', ...fields }).expect(201);
      for (const identity of identities) await this.addFace(auth, s.body.id, identity);
      return s.body.id;
    },
    async addFace(auth: string, subjectId: string, identity: number): Promise<void> {
      await request(app).post(`/v1/subjects/${subjectId}/faces`).set('Authorization', auth).attach('image', await photo([identity]), 'f.jpg').expect(201);
    },
    /** POST /v1/searches with a probe showing `faces` (identities); returns the stored search's id. */
    async search(auth: string, faces: number[], fields: Record<string, string | number> = {}): Promise<string> {
      let req = request(app).post('/v1/searches').set('Authorization', auth);
      for (const [k, v] of Object.entries({ purpose: 'fraud investigation', caseRef: 'CASE-1', ...fields })) req = req.field(k, String(v));
      const res = await req.attach('image', await photo(faces), 'p.jpg').expect(200);
      return res.body.searchId;
    },
    /** POST /v1/verify of a probe of `identity` against `subjectId`; returns the stored verification's id. */
    async verify(auth: string, subjectId: string, identity: number): Promise<string> {
      const res = await request(app).post('/v1/verify').set('Authorization', auth)
        .field('subjectId', subjectId).field('purpose', 'fraud investigation').field('caseRef', 'CASE-1')
        .attach('image', await photo([identity]), 'p.jpg').expect(200);
      return res.body.verificationId;
    },
  };
}

/** Runs one statement with the append-only trigger disabled (as the superuser the tests connect as), then re-enables it. */
export async function bypassingTrigger(db: Db, sql: string, params: unknown[] = []): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete');
    await tx.query('ALTER TABLE audit_anchor DISABLE TRIGGER audit_anchor_no_update_delete');
    await tx.query(sql, params);
    await tx.query('ALTER TABLE audit_anchor ENABLE TRIGGER audit_anchor_no_update_delete');
    await tx.query('ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete');
  });
}

/**
 * Environment for startService in these tests: an explicit image key (required with PostgreSQL, and keeps the embedded mode from
 * writing a key file under the resolved DATA_DIR) and a rate limit that bursts of test requests do not hit.
 */
export const serviceEnv = (): Record<string, string> => ({
  FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  RATE_LIMIT_PER_MINUTE: '1000000',
  RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '1000000',
});
