import request from 'supertest';
import { similarityFromCosine } from '../../src/shared/calibration';
import { verifyBand } from '../../src/modules/search/matching-policy';
import { createCalibrationStore } from '../../src/platform/face/calibration.store';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { scriptedEngine, type ScriptedFace } from '../helpers/fake-engine';
import { blankImage } from '../helpers/images';
import { enrolScripted } from '../helpers/scripted-gallery';

type Svc = Awaited<ReturnType<typeof startService>>;

/**
 * The 1:1 near-miss band and the investigative false-match-rate cap, through the HTTP API on a real database. Only the face
 * engine is scripted (the test is about the policy, not the model); the thresholds come from the model's real calibration table.
 */
describe.each(backends())('verify near misses and false-match-rate caps on $name', (backend) => {
  let t: TestDb;
  let svc: Svc;
  const fake = scriptedEngine();
  const calibration = createCalibrationStore()(fake.engine.model.id);
  let searcher: string;
  let auditor: string;
  const subjects: string[] = [];
  let imageNo = 0;
  const image = async () => blankImage(64, 64, { r: ++imageNo % 256, g: Math.floor(imageNo / 256), b: 11 });

  const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
  /** Similarity of a scripted face to the enrolled template of `identity`. */
  const similarityTo = (identity: number, f: ScriptedFace) => similarityFromCosine(cosine(fake.embedding({ identity }), fake.embedding(f)));
  /** A face of `identity` blended with identity 999 until its similarity to `identity` is `target` (bisection on the weight). */
  const faceAt = (identity: number, target: number): ScriptedFace => {
    let lo = 0;
    let hi = 1;
    for (let k = 0; k < 50; k++) {
      const mid = (lo + hi) / 2;
      if (similarityTo(identity, { identity, mixWith: 999, weight: mid }) > target) lo = mid;
      else hi = mid;
    }
    return { identity, mixWith: 999, weight: (lo + hi) / 2 };
  };

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine: fake.engine, env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
    await svc.startEngine();
    const enroller = (await svc.key(['enroller'], 'bank-a')).auth;
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    auditor = (await svc.key(['auditor'], '*')).auth;
    await svc.watchlist('bank-a', 'wl');
    subjects.push(...(await enrolScripted(svc.app, fake, enroller, ['Subject A', 'Subject B', 'Subject C'], image)));
  });
  afterAll(async () => {
    await svc?.close();
    await t?.drop();
  });

  const verify = async (face: ScriptedFace, subjectId = subjects[0]!) => {
    const probe = fake.script(await image(), [face]);
    const res = await request(svc.app).post('/v1/verify').set('Authorization', searcher)
      .field('subjectId', subjectId).field('purpose', 'account opening').field('caseRef', 'KYC-1').attach('image', probe, 'p.jpg').expect(200);
    return res.body;
  };

  describe('1:1 verify', () => {
    const band = () => verifyBand(calibration, svc.config.matching.verifyTargetFmr, svc.config.matching.verifyNearMissFactor);

    it('derives the near-miss band from the calibration table: its lower edge has 10 × the target false-match rate', () => {
      const { threshold, nearMissThreshold } = band();
      expect(svc.config.matching.verifyNearMissFactor).toBe(10);
      expect(nearMissThreshold).toBeLessThan(threshold);
      expect(calibration.fmrAt(nearMissThreshold)).toBeCloseTo(10 * svc.config.matching.verifyTargetFmr, 8);
    });

    it('flags a score just below the threshold as NEAR_MISS for human review, and stores and audits the flag', async () => {
      const { threshold, nearMissThreshold } = band();
      const body = await verify(faceAt(1, (threshold + nearMissThreshold) / 2));
      expect(body).toMatchObject({ match: false, humanReviewRequired: true, reviewReasons: ['NEAR_MISS'] });
      expect(body.similarity).toBeLessThan(body.threshold);
      expect(body.similarity).toBeGreaterThanOrEqual(body.nearMissThreshold);
      expect(body.nearMissThreshold).toBeCloseTo(nearMissThreshold, 5);

      const stored = await request(svc.app).get(`/v1/searches/${body.verificationId}`).set('Authorization', auditor).expect(200);
      expect(stored.body).toMatchObject({ kind: 'verify', match: false, reviewReasons: ['NEAR_MISS'] });
      const events = await request(svc.app).get(`/v1/audit/events?type=verify.run&searchId=${body.verificationId}`).set('Authorization', auditor).expect(200);
      expect(events.body.items[0].payload).toMatchObject({ match: false, nearMiss: true });
    });

    it('does not flag a score below the band', async () => {
      const { nearMissThreshold } = band();
      const body = await verify(faceAt(1, nearMissThreshold - 0.02));
      expect(body).toMatchObject({ match: false, humanReviewRequired: false, reviewReasons: [] });
    });

    it('reports a match as a lead, not a near miss', async () => {
      const body = await verify({ identity: 2 }, subjects[1]);
      expect(body).toMatchObject({ match: true, humanReviewRequired: true, reviewReasons: ['CANDIDATES_ARE_LEADS_ONLY'] });
    });
  });

  describe('investigative searches with maxFalseMatchRate', () => {
    const search = async (face: ScriptedFace, fields: Record<string, string> = {}) => {
      const probe = fake.script(await image(), [face]);
      let req = request(svc.app).post('/v1/searches').set('Authorization', searcher).field('purpose', 'card fraud').field('caseRef', 'CASE-7');
      for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
      return req.attach('image', probe, 'p.jpg');
    };
    const searchOk = async (face: ScriptedFace, fields: Record<string, string> = {}) => {
      const res = await search(face, fields);
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 200, error: undefined });
      return res;
    };
    /** A probe of Subject A whose calibrated false-match rate against A is about 3 × VERIFY_TARGET_FMR (between 1e-4 and 1e-3). */
    const weakProbe = () => faceAt(1, calibration.thresholdFor(3e-4));

    it('lists every kNN candidate without a cap, however weak', async () => {
      const res = await searchOk(weakProbe());
      expect(res.body.faces[0].candidates).toHaveLength(3);
      expect(res.body.thresholds.maxFalseMatchRate).toBeNull();
    });

    it('drops candidates whose estimated false-match rate exceeds the cap, renumbers ranks, and stores and audits the cap', async () => {
      const res = await searchOk(weakProbe(), { maxFalseMatchRate: '0.001' });
      const [only, ...rest] = res.body.faces[0].candidates;
      expect(rest).toEqual([]);
      expect(only).toMatchObject({ rank: 1, subjectId: subjects[0] });
      expect(only.estimatedFalseMatchRate).toBeLessThanOrEqual(0.001);
      expect(res.body.thresholds.maxFalseMatchRate).toBe(0.001);

      const stored = await request(svc.app).get(`/v1/searches/${res.body.searchId}`).set('Authorization', auditor).expect(200);
      expect(stored.body.thresholds.maxFalseMatchRate).toBe(0.001);
      expect(stored.body.faces[0].candidates).toHaveLength(1);
      const events = await request(svc.app).get(`/v1/audit/events?type=search.run&searchId=${res.body.searchId}`).set('Authorization', auditor).expect(200);
      expect(events.body.items[0].payload.params.maxFalseMatchRate).toBe(0.001);
      expect(events.body.items[0].payload.candidates).toHaveLength(1);
    });

    it('stores the result with its schema version, and still reads a search stored before versioning', async () => {
      const res = await searchOk({ identity: 2 });
      const stored = await t.db.query<{ v: string | null }>(`SELECT result->>'version' AS v FROM search WHERE id = $1`, [res.body.searchId]);
      expect(stored.rows[0]!.v).toBe('1');
      expect(res.body).not.toHaveProperty('version');
      await t.db.query(`UPDATE search SET result = result - 'version' WHERE id = $1`, [res.body.searchId]);
      const old = await request(svc.app).get(`/v1/searches/${res.body.searchId}`).set('Authorization', auditor).expect(200);
      expect(old.body).toMatchObject({ kind: 'search', searchId: res.body.searchId });
      expect(old.body.faces[0].candidates[0]).toMatchObject({ rank: 1, subjectId: subjects[1], displayName: 'Subject B' });
    });

    it('returns no candidate, and needs no review, when even the best one is above a strict cap', async () => {
      const res = await searchOk(weakProbe(), { maxFalseMatchRate: '0.0001' });
      expect(res.body.faces[0].candidates).toEqual([]);
      expect(res.body).toMatchObject({ humanReviewRequired: false, reviewReasons: [] });
    });

    it.each([['0'], ['1.5'], ['-0.1'], ['1e-3'], ['']])('refuses maxFalseMatchRate=%p with 400 VALIDATION_FAILED', async (v) => {
      const res = await search({ identity: 1 }, { maxFalseMatchRate: v });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });
  });
});
