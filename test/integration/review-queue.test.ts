import request from 'supertest';
import { storedSearchResult } from '../../src/modules/search/search.model';
import { readMigrations, migrate } from '../../src/platform/db/migrate';
import { backends, type TestDb } from '../helpers/databases';
import { BOOTSTRAP_KEY, startService } from '../helpers/app';
import { scriptedEngine } from '../helpers/fake-engine';
import { enrolScripted } from '../helpers/scripted-gallery';
import { blankImage } from '../helpers/images';

type Svc = Awaited<ReturnType<typeof startService>>;

/**
 * Four-eyes review by people (key holders), the reviewer's work queue and blind second review, through the HTTP API on a real
 * database. Searches and enrolments go through the real services; only the face engine is scripted (this is not about the model).
 */
describe.each(backends())('review queue, holders and blind review on $name', (backend) => {
  let t: TestDb;
  let svc: Svc;
  const fake = scriptedEngine();
  let sam: { id: string; auth: string };
  let samReviewing: string;
  let rita1: string;
  let rita2: string;
  let rob: string;
  let foreign: string;
  let auditor: string;
  const subjects: string[] = [];
  let imageNo = 0;
  const image = async () => blankImage(64, 64, { r: ++imageNo, g: 7, b: 9 });

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine: fake.engine, env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
    await svc.startEngine();
    const enroller = (await svc.key(['enroller'], 'bank-a', 'Erin Enroller')).auth;
    sam = await svc.key(['searcher'], 'bank-a', 'Sam Searcher');
    samReviewing = (await svc.key(['reviewer'], 'bank-a', 'Sam Searcher')).auth;
    rita1 = (await svc.key(['reviewer'], 'bank-a', 'Rita Reviewer')).auth;
    rita2 = (await svc.key(['reviewer'], 'bank-a', 'Rita Reviewer')).auth;
    rob = (await svc.key(['reviewer'], 'bank-a', 'Rob Reviewer')).auth;
    foreign = (await svc.key(['reviewer'], 'bank-b', 'Fay Foreign')).auth;
    auditor = (await svc.key(['auditor'], '*', 'Audrey Auditor')).auth;
    await svc.watchlist('bank-a', 'wl');
    subjects.push(...(await enrolScripted(svc.app, fake, enroller, ['Subject X', 'Subject Y'], image)));
  });
  afterAll(async () => {
    await svc?.close();
    await t?.drop();
  });

  /** A two-face probe: face 0 is Subject X, face 1 Subject Y; each face gets both subjects as candidates (investigative). */
  const search = async () => {
    const probe = fake.script(await image(), [{ identity: 1 }, { identity: 2 }]);
    const res = await request(svc.app).post('/v1/searches').set('Authorization', sam.auth)
      .field('purpose', 'card fraud').field('caseRef', 'CASE-9').attach('image', probe, 'p.jpg').expect(200);
    return res.body.searchId as string;
  };
  const review = (auth: string, id: string, body: Record<string, unknown>) =>
    request(svc.app).post(`/v1/searches/${id}/reviews`).set('Authorization', auth)
      .send({ faceIndex: 0, subjectId: subjects[0], decision: 'confirmed', rationale: 'same ear shape and scar', ...body });
  const queue = async (auth: string, q = '') => (await request(svc.app).get(`/v1/reviews/queue${q}`).set('Authorization', auth).expect(200)).body;
  const stateOf = async (auth: string, id: string, faceIndex = 0, subjectId = subjects[0]) => {
    const res = await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', auth).expect(200);
    return res.body.faces[faceIndex].candidates.find((c: { subjectId: string }) => c.subjectId === subjectId).review;
  };

  it('counts two confirmations by keys of the same holder once; a second holder completes four-eyes', async () => {
    const id = await search();
    const first = await review(rita1, id, {}).expect(201);
    expect(first.body).toMatchObject({ holder: 'Rita Reviewer', candidateReview: { state: 'awaiting_second_confirmation', confirmations: 1 } });
    const second = await review(rita2, id, {}).expect(201);
    expect(second.body.candidateReview).toMatchObject({ state: 'awaiting_second_confirmation', confirmations: 1 });
    expect(await stateOf(auditor, id)).toEqual({ state: 'awaiting_second_confirmation', confirmations: 1, rejections: 0 });
    expect((await review(rob, id, {}).expect(201)).body.candidateReview).toMatchObject({ state: 'confirmed', confirmations: 2 });

    // The case file names both people, shows the probe crop and the enrolled crop as data: URIs, and lets nothing load.
    const html = await request(svc.app).get(`/v1/searches/${id}/report?format=html`).set('Authorization', auditor).expect(200);
    expect(html.headers['content-security-policy']).toMatch(/default-src 'none'.*img-src data:/);
    expect(html.text).toContain('Rita Reviewer');
    expect(html.text).toContain('Rob Reviewer');
    expect(html.text).toContain('Sam Searcher');
    const srcs = [...html.text.matchAll(/\bsrc="([^"]*)"/g)].map((m) => m[1]!);
    expect(srcs.length).toBe(8); // two faces × two candidates × (probe crop + enrolled crop)
    expect(srcs.every((u) => u.startsWith('data:image/jpeg;base64,/9j/'))).toBe(true);
  });

  it('serves a candidate\'s enrolled crop to the searcher through the search, and 404 for a rank that is not there', async () => {
    const id = await search();
    const res = await request(svc.app).get(`/v1/searches/${id}/faces/0/candidates/1/image`).set('Authorization', sam.auth).expect(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect((await request(svc.app).get(`/v1/searches/${id}/faces/0/candidates/9/image`).set('Authorization', sam.auth)).status).toBe(404);
    expect((await request(svc.app).get(`/v1/searches/${id}/faces/0/candidates/1/image`).set('Authorization', foreign)).status).toBe(404);
  });

  it('refuses a review by another key of the person who ran the search (403) and keeps their searches out of their queue', async () => {
    const id = await search();
    const res = await review(samReviewing, id, {});
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    expect((await queue(samReviewing)).items).toEqual([]);
  });

  it('lists open candidates oldest first, pages with a cursor, and drops what this holder (any key) decided or what is closed', async () => {
    const older = await search();
    const newer = await search();
    type Item = { searchId: string; faceIndex: number; rank: number };
    const mine = (items: Item[]) => items.filter((i) => i.searchId === older || i.searchId === newer);
    const all = mine((await queue(rob, '?limit=200')).items);
    expect(all.map((i) => [i.searchId, i.faceIndex, i.rank])).toEqual([
      [older, 0, 1], [older, 0, 2], [older, 1, 1], [older, 1, 2],
      [newer, 0, 1], [newer, 0, 2], [newer, 1, 1], [newer, 1, 2],
    ]);
    expect(all[0]).toMatchObject({ purpose: 'card fraud', caseRef: 'CASE-9', organization: 'bank-a', candidate: { subjectId: subjects[0], rank: 1 }, face: { box: expect.any(Object) } });
    expect(JSON.stringify(all[0])).not.toMatch(/decision|review/i);

    // Paging: concatenated pages equal the whole queue.
    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const body: { items: unknown[]; nextCursor: string | null } = await queue(rob, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(...body.items);
      cursor = body.nextCursor;
    } while (cursor);
    expect(mine(pages as Item[])).toEqual(all);
    expect((await request(svc.app).get('/v1/reviews/queue?cursor=garbage').set('Authorization', rob)).status).toBe(400);

    // Rita decides older/0/X with one key: gone from both her keys' queues, still in Rob's. A rejection closes it for everyone.
    await review(rita1, older, {}).expect(201);
    const has = (items: Array<{ searchId: string; faceIndex: number; candidate: { subjectId: string } }>, s: string, f: number, subj: string) =>
      items.some((i) => i.searchId === s && i.faceIndex === f && i.candidate.subjectId === subj);
    expect(has((await queue(rita2, '?limit=200')).items, older, 0, subjects[0]!)).toBe(false);
    expect(has((await queue(rob, '?limit=200')).items, older, 0, subjects[0]!)).toBe(true);
    await review(rita2, older, { faceIndex: 1, subjectId: subjects[0], decision: 'rejected', rationale: 'different nose' }).expect(201);
    expect(has((await queue(rob, '?limit=200')).items, older, 1, subjects[0]!)).toBe(false);
    expect(has((await queue(rob, '?limit=200')).items, older, 1, subjects[1]!)).toBe(true);

    // Another organization's reviewer never sees bank-a's candidates; the queue needs the reviewer role.
    expect(mine((await queue(foreign, '?limit=200')).items)).toEqual([]);
    expect((await request(svc.app).get('/v1/reviews/queue').set('Authorization', sam.auth)).status).toBe(403);
  });

  it('hides other reviewers\' decisions from a reviewer until they record their own (blind), but not from auditors', async () => {
    const id = await search();
    await review(rita1, id, { decision: 'confirmed' }).expect(201);
    const before = (await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', rob).expect(200)).body;
    expect(before.reviews).toEqual([]);
    expect(before.faces[0].candidates[0].review).toEqual({ state: 'blind' });
    const report = (await request(svc.app).get(`/v1/searches/${id}/report`).set('Authorization', rob).expect(200)).body;
    expect(report.reviews).toEqual([]);
    expect((await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', auditor)).body.reviews).toHaveLength(1);

    await review(rob, id, { decision: 'confirmed' }).expect(201);
    const after = (await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', rob).expect(200)).body;
    expect(after.reviews.map((r: { holder: string }) => r.holder).sort()).toEqual(['Rita Reviewer', 'Rob Reviewer']);
    expect(after.faces[0].candidates[0].review).toEqual({ state: 'confirmed', confirmations: 2, rejections: 0 });
    expect(after.faces[0].candidates[1].review).toEqual({ state: 'blind' });
  });

  it('saves the feature checklist with the decision and rejects unknown features or values (400)', async () => {
    const id = await search();
    const checklist = { faceShape: 'similar', ears: 'not_visible', marks: 'different' };
    const res = await review(rob, id, { decision: 'rejected', checklist }).expect(201);
    expect(res.body.checklist).toEqual(checklist);
    const stored = (await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', auditor)).body.reviews[0];
    expect(stored).toMatchObject({ checklist, holder: 'Rob Reviewer' });
    const ev = await request(svc.app).get(`/v1/audit/events?searchId=${id}&type=review.recorded`).set('Authorization', auditor).expect(200);
    expect(ev.body.items[0].payload.checklist).toEqual(checklist);
    for (const bad of [{ nose: 'maybe' }, { tattoo: 'similar' }]) {
      expect((await review(rita1, id, { checklist: bad })).status).toBe(400);
    }
  });
});

describe.each(backends())('key holders migration on $name', (backend) => {
  it('gives existing keys their label (or "unknown") as holder, the bootstrap key "bootstrap admin", and past reviews their key\'s holder', async () => {
    const t = await backend.open({ empty: true });
    try {
      await migrate(t.db, readMigrations().filter((m) => m.version < 30));
      const key = (id: string, label: string | null, roles = '{reviewer}') =>
        t.db.query(`INSERT INTO api_key (id, lookup, secret_hash, roles, organization, label) VALUES ($1, $2, 'x', $3, 'bank-a', $4)`, [id, id.slice(-16), roles, label]);
      const ids = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];
      await key(ids[0]!, 'kyc gateway');
      await key(ids[1]!, null);
      await key(ids[2]!, 'bootstrap (generated)', '{admin}');
      const searchId = '00000000-0000-4000-8000-0000000000aa';
      // The service of that schema version cannot run here, so the row is written by hand: a result of that era (no version
      // field), checked against the stored-result schema so it is one the service could have written.
      const result = { searchId, createdAt: '2026-01-01T00:00:00.000Z', mode: 'investigative', probe: { sha256: 'h', width: 1, height: 1, facesDetected: 1 }, faces: [], humanReviewRequired: false, reviewReasons: [] };
      storedSearchResult.parse(result);
      await t.db.query(
        `INSERT INTO search (id, kind, organization, key_id, mode, purpose, case_ref, probe_sha256, model_id, params, result)
         VALUES ($1, 'search', 'bank-a', $2, 'investigative', 'p', 'c', 'h', 'm', '{}', $3::jsonb)`,
        [searchId, ids[1], JSON.stringify(result)],
      );
      await t.db.query(
        `INSERT INTO review (id, search_id, face_index, subject_id, decision, rationale, key_id, organization)
         VALUES ('00000000-0000-4000-8000-0000000000bb', $1, 0, $1, 'confirmed', 'r', $2, 'bank-a')`,
        [searchId, ids[0]],
      );
      await migrate(t.db);
      const holders = await t.db.query<{ id: string; holder: string }>('SELECT id, holder FROM api_key ORDER BY id');
      expect(holders.rows.map((r) => r.holder)).toEqual(['kyc gateway', 'unknown', 'bootstrap admin']);
      const rv = await t.db.query<{ holder: string }>('SELECT holder FROM review');
      expect(rv.rows[0]!.holder).toBe('kyc gateway');
      await expect(t.db.query(`INSERT INTO api_key (id, lookup, secret_hash, roles, organization) VALUES ('00000000-0000-4000-8000-000000000009', 'l9', 'x', '{admin}', 'o')`)).rejects.toThrow(/holder/);
    } finally {
      await t.drop();
    }
  });

  it('registers the bootstrap admin key with holder "bootstrap admin"', async () => {
    const t = await backend.open();
    try {
      const svc = await startService(t.db);
      const me = await request(svc.app).get('/v1/keys/me').set('Authorization', `Bearer ${BOOTSTRAP_KEY}`).expect(200);
      expect(me.body.holder).toBe('bootstrap admin');
    } finally {
      await t.drop();
    }
  });
});
