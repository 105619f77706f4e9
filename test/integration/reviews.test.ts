import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { scriptedEngine } from '../helpers/fake-engine';
import { scriptedGallery, serviceEnv } from './oversight.fixtures';

describe.each(backends())('four-eyes review on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let searcher: { id: string; auth: string };
  let rev1: string;
  let rev2: string;
  let rev3: string;
  let searcherReviewer: { id: string; auth: string };
  let foreignReviewer: string;
  let auditor: string;
  let enroller: string;
  let x: string;
  let y: string;
  const fake = scriptedEngine();
  let gallery: ReturnType<typeof scriptedGallery>;

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: serviceEnv(), engine: fake.engine });
    await svc.startEngine();
    gallery = scriptedGallery(svc.app, fake);
    searcher = await svc.key(['searcher'], 'bank-a');
    searcherReviewer = await svc.key(['searcher', 'reviewer'], 'bank-a');
    rev1 = (await svc.key(['reviewer'], 'bank-a')).auth;
    rev2 = (await svc.key(['reviewer'], 'bank-a')).auth;
    rev3 = (await svc.key(['reviewer'], 'bank-a')).auth;
    foreignReviewer = (await svc.key(['reviewer'], 'bank-b')).auth;
    auditor = (await svc.key(['auditor'], '*')).auth;
    enroller = (await svc.key(['enroller'], 'bank-a')).auth;
    await svc.watchlist('bank-a', 'wl');
    // x is enrolled from two photos (identities 1 and 2); y from a photo of a lookalike of x's first (identity 1 again).
    x = await gallery.enrol(enroller, { displayName: 'Subject X', watchlist: 'wl' }, [1, 2]);
    y = await gallery.enrol(enroller, { displayName: 'Subject Y', watchlist: 'wl' }, [1]);
  });
  afterAll(async () => {
    await svc?.close();
    await t?.drop();
  });

  /**
   * A two-face probe searched on `wl` with candidates at similarity ≥ 0.9: face 0 (identity 1) has candidates x and y, face 1
   * (identity 2) has x only (y is a weak candidate there, below the cut).
   */
  const newSearch = (by = searcher) => gallery.search(by.auth, [1, 2], { watchlists: 'wl', minSimilarity: 0.9, topK: 20 });
  const review = (auth: string, id: string, body: Record<string, unknown>) =>
    request(svc.app).post(`/v1/searches/${id}/reviews`).set('Authorization', auth).send({ faceIndex: 0, subjectId: x, rationale: 'compared ears and scar', ...body });
  const stateOf = async (id: string, faceIndex = 0, subjectId = x) => {
    const res = await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', searcher.auth).expect(200);
    const f = res.body.faces.find((ff: { faceIndex: number }) => ff.faceIndex === faceIndex);
    return f.candidates.find((c: { subjectId: string }) => c.subjectId === subjectId).review;
  };

  it('shows every candidate as pending before any review, with an empty reviews list', async () => {
    const id = await newSearch();
    const res = await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', searcher.auth).expect(200);
    expect(res.body.reviews).toEqual([]);
    expect(res.body.faces.flatMap((f: { candidates: Array<{ review: unknown }> }) => f.candidates.map((c) => c.review))).toEqual(
      Array(3).fill({ state: 'pending', confirmations: 0, rejections: 0 }),
    );
  });

  it('confirms a candidate only after a second, different reviewer confirms it', async () => {
    const id = await newSearch();
    const first = await review(rev1, id, { decision: 'confirmed' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ decision: 'confirmed', candidateReview: { state: 'awaiting_second_confirmation', confirmations: 1 }, audit: { seq: expect.any(Number) } });
    expect(await stateOf(id)).toEqual({ state: 'awaiting_second_confirmation', confirmations: 1, rejections: 0 });

    const again = await review(rev1, id, { decision: 'confirmed' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');

    expect((await review(rev2, id, { decision: 'confirmed' })).body.candidateReview.state).toBe('confirmed');
    expect(await stateOf(id)).toEqual({ state: 'confirmed', confirmations: 2, rejections: 0 });
    expect(await stateOf(id, 0, y)).toMatchObject({ state: 'pending' });
    expect(await stateOf(id, 1, x)).toMatchObject({ state: 'pending' });

    const body = (await request(svc.app).get(`/v1/searches/${id}`).set('Authorization', searcher.auth)).body;
    expect(body.reviews).toHaveLength(2);
    expect(body.reviews[0]).toMatchObject({ faceIndex: 0, subjectId: x, decision: 'confirmed', rationale: 'compared ears and scar' });
  });

  it('marks a split decision disputed (not rejected), and a third reviewer settles it by the majority', async () => {
    const id = await newSearch();
    const first = await review(rev1, id, { decision: 'confirmed' }).expect(201);
    expect(first.body.candidateReview.state).toBe('awaiting_second_confirmation');
    const split = await review(rev2, id, { decision: 'rejected', rationale: 'different eyebrow shape' }).expect(201);
    expect(split.body.candidateReview).toMatchObject({ state: 'disputed', confirmations: 1, rejections: 1 });
    expect(await stateOf(id)).toEqual({ state: 'disputed', confirmations: 1, rejections: 1 });
    await review(rev3, id, { decision: 'confirmed', rationale: 'same ear shape and scar' }).expect(201);
    expect(await stateOf(id)).toEqual({ state: 'confirmed', confirmations: 2, rejections: 1 });
  });

  it('closes a candidate nobody confirmed at its first rejection', async () => {
    const id = await newSearch();
    await review(rev1, id, { decision: 'rejected', rationale: 'different nose' }).expect(201);
    expect(await stateOf(id)).toEqual({ state: 'rejected', confirmations: 0, rejections: 1 });
  });

  it('marks a candidate inconclusive when only inconclusive decisions exist', async () => {
    const id = await newSearch();
    await review(rev1, id, { decision: 'inconclusive', subjectId: y }).expect(201);
    expect(await stateOf(id, 0, y)).toMatchObject({ state: 'inconclusive' });
  });

  it('returns 403 when the reviewer key ran the search itself', async () => {
    const id = await newSearch(searcherReviewer);
    const res = await review(searcherReviewer.auth, id, { decision: 'confirmed' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
  });

  it('returns 404 for another organization’s search, leaking nothing about it', async () => {
    const id = await newSearch();
    const res = await review(foreignReviewer, id, { decision: 'confirmed' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(JSON.stringify(res.body)).not.toContain(x);
    expect((await review(rev1, randomUUID(), { decision: 'confirmed' })).status).toBe(404);
  });

  it('returns 400 VALIDATION_FAILED for a pair that is not a candidate of the search, and for a bad decision', async () => {
    const id = await newSearch();
    for (const body of [{ decision: 'confirmed', subjectId: randomUUID() }, { decision: 'confirmed', faceIndex: 1, subjectId: y }, { decision: 'maybe' }, { decision: 'confirmed', rationale: '' }]) {
      const res = await review(rev1, id, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('writes a review.recorded audit event with a rationale hash in the same transaction', async () => {
    const id = await newSearch();
    const r = await review(rev1, id, { decision: 'rejected', rationale: 'not the same person' }).expect(201);
    const ev = (await request(svc.app).get(`/v1/audit/events?searchId=${id}&type=review.recorded`).set('Authorization', auditor).expect(200)).body.items;
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ seq: r.body.audit.seq, hash: r.body.audit.hash, searchId: id, subjectIds: [x], payload: { reviewId: r.body.id, decision: 'rejected', stateAfter: 'rejected', rationaleHmac: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(JSON.stringify(ev[0])).not.toContain('not the same person');
  });

  it('produces a JSON case-file report with every candidate, review, negative outcome and the covering audit events', async () => {
    const id = await newSearch();
    await review(rev1, id, { decision: 'confirmed' }).expect(201);
    await review(rev2, id, { decision: 'rejected', subjectId: y }).expect(201);
    const res = await request(svc.app).get(`/v1/searches/${id}/report`).set('Authorization', searcher.auth).expect(200);
    const r = res.body;
    expect(r.search).toMatchObject({ searchId: id, purpose: 'fraud investigation', caseRef: 'CASE-1', probe: { sha256: expect.any(String) }, params: { topK: 20 } });
    expect(r.candidates).toHaveLength(3);
    expect(r.candidates[0]).toMatchObject({ similarity: expect.any(Number), estimatedFalseMatchRate: expect.any(Number) });
    expect(r.outcome).toMatchObject({ awaiting_second_confirmation: 1, rejected: 1, pending: 1 });
    expect(r.reviews).toHaveLength(2);
    expect(r.audit.events.map((e: { type: string }) => e.type)).toEqual(['search.run', 'review.recorded', 'review.recorded']);
    expect(r.audit.events.every((e: { contentMatchesHash: boolean; hash: string }) => e.contentMatchesHash && /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);

    for (const auth of [rev3, auditor]) expect((await request(svc.app).get(`/v1/searches/${id}/report`).set('Authorization', auth)).status).toBe(200);
    expect((await request(svc.app).get(`/v1/searches/${id}/report`).set('Authorization', foreignReviewer)).status).toBe(404);
  });

  it('renders the report as self-contained printable HTML with escaped content', async () => {
    // Names are joined from the subject when the report is read: the hostile name is a real subject's.
    const owner = { keyId: randomUUID(), roles: ['enroller' as const], organization: 'bank-a' };
    await svc.watchlist('bank-a', 'xss');
    const evil = await svc.subjects.create(owner, { displayName: '<img src=x onerror=alert(1)>', category: 'fraud', watchlist: 'xss', legalBasis: 'x', externalRef: null, caseRef: null, notes: null, reviewBy: null });
    await gallery.addFace(enroller, evil.id, 66);
    const id = await gallery.search(searcher.auth, [66], { watchlists: 'xss', purpose: '<b>purpose</b>' });
    const res = await request(svc.app).get(`/v1/searches/${id}/report?format=html`).set('Authorization', searcher.auth).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    // The same frame policy as every other response (security-headers.ts): nobody frames a case file, not even this origin.
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.text).toContain('&#60;img src=x onerror=alert(1)&#62;');
    expect(res.text).toContain('&#60;b&#62;purpose');
    // The only images are the probe crop and the enrolled crop, inline as data: URIs; nothing else is markup or loads anything.
    const crop = /<img class="crop" src="data:image\/jpeg;base64,[A-Za-z0-9+/=]+" alt="[^"<>]*">/g;
    expect(res.text.match(crop)).toHaveLength(2);
    expect(res.text.replace(crop, '')).not.toMatch(/<img|<script|<link|https?:\/\//i);
  });
});
