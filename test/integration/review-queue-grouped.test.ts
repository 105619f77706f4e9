import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { scriptedEngine } from '../helpers/fake-engine';
import { enrolScripted } from '../helpers/scripted-gallery';
import { blankImage } from '../helpers/images';

interface Candidate { rank: number; subjectId: string; displayName: string; watchlistId: string; estimatedFalseMatchRate: number; review: { state: string; confirmations?: number; rejections?: number }; ownDecision: string | null }
interface Group { searchId: string; caseRef: string; purpose: string; faces: Array<{ faceIndex: number; quality: { score: number }; candidates: Candidate[] }> }

/**
 * The grouped review queue (search → face → candidates): sorts, filters, paging by search, blind states, and the disputed
 * state when reviewers disagree, through the HTTP API on a real database (scripted face engine; the model is not the point).
 */
describe.each(backends())('grouped review queue on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  const fake = scriptedEngine();
  const keys = {} as Record<'sam' | 'samReviewing' | 'rita' | 'rob' | 'rhea' | 'fay' | 'star', string>;
  const ids: Record<string, string> = {};
  const subjects: Record<string, string> = {};
  let wl2 = '';
  let imageNo = 0;
  const image = async () => blankImage(64, 64, { r: ++imageNo, g: 3, b: 5 });

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { engine: fake.engine, env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
    await svc.startEngine();
    const enroller = (await svc.key(['enroller'], 'bank-a', 'Erin Enroller')).auth;
    keys.sam = (await svc.key(['searcher'], 'bank-a', 'Sam Searcher')).auth;
    keys.samReviewing = (await svc.key(['reviewer'], 'bank-a', 'Sam Searcher')).auth;
    keys.rita = (await svc.key(['reviewer'], 'bank-a', 'Rita Reviewer')).auth;
    keys.rob = (await svc.key(['reviewer'], 'bank-a', 'Rob Reviewer')).auth;
    keys.rhea = (await svc.key(['reviewer'], 'bank-a', 'Rhea Third')).auth;
    keys.fay = (await svc.key(['reviewer'], 'bank-b', 'Fay Foreign')).auth;
    keys.star = (await svc.key(['reviewer'], '*', 'Stan Supervisor')).auth;
    await svc.watchlist('bank-a', 'wl');
    wl2 = await svc.watchlist('bank-a', 'wl2');
    const [x, y] = await enrolScripted(svc.app, fake, enroller, ['Subject X', 'Subject Y'], image);
    Object.assign(subjects, { x, y });
    const w = await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'Subject W', category: 'fraud', watchlist: 'wl2', legalBasis: 'test' }).expect(201);
    await request(svc.app).post(`/v1/subjects/${w.body.id}/faces`).set('Authorization', enroller).attach('image', fake.script(await image(), [{ identity: 9 }]), 'w.jpg').expect(201);
    subjects.w = w.body.id;
    // Oldest to newest: A (a weak look-alike of Y), B (exactly X: the strongest), C (a weaker look-alike of Y).
    const search = async (caseRef: string, face: Parameters<typeof fake.script>[1][number]) => {
      const res = await request(svc.app).post('/v1/searches').set('Authorization', keys.sam)
        .field('purpose', 'card fraud ring').field('caseRef', caseRef).attach('image', fake.script(await image(), [face]), 'p.jpg').expect(200);
      return res.body.searchId as string;
    };
    ids.a = await search('CASE-A', { identity: 2, mixWith: 7, weight: 0.6 });
    ids.b = await search('CASE-B', { identity: 1 });
    ids.c = await search('CASE-C', { identity: 2, mixWith: 7, weight: 0.7 });
  });
  afterAll(async () => {
    await svc?.close();
    await t?.drop();
  });

  const page = async (auth: string, q: Record<string, string> = {}) =>
    (await request(svc.app).get(`/v1/reviews/queue/searches?${new URLSearchParams(q)}`).set('Authorization', auth).expect(200)).body as { items: Group[]; nextCursor: string | null };
  const cases = (p: { items: Group[] }) => p.items.map((g) => g.caseRef);
  const candidate = (p: { items: Group[] }, searchId: string, subjectId: string) => p.items.find((g) => g.searchId === searchId)?.faces[0]?.candidates.find((c) => c.subjectId === subjectId);
  const review = (auth: string, searchId: string, subjectId: string, decision: string) =>
    request(svc.app).post(`/v1/searches/${searchId}/reviews`).set('Authorization', auth).send({ faceIndex: 0, subjectId, decision, rationale: 'compared ears, nose and chin' }).expect(201);

  it('groups candidates by search and face, best first, each blind, and sorts oldest waiting, newest or strongest first', async () => {
    const oldest = await page(keys.rita);
    expect(cases(oldest)).toEqual(['CASE-A', 'CASE-B', 'CASE-C']);
    const b = oldest.items[1]!;
    expect(b.purpose).toBe('card fraud ring');
    expect(b.faces).toHaveLength(1);
    expect(b.faces[0]!.candidates.map((c) => c.displayName).sort()).toEqual(['Subject W', 'Subject X', 'Subject Y']);
    expect(b.faces[0]!.candidates[0]!.displayName).toBe('Subject X');
    expect(b.faces[0]!.candidates.map((c) => c.rank)).toEqual([1, 2, 3]);
    expect(b.faces[0]!.candidates.every((c) => c.review.state === 'blind' && c.ownDecision === null)).toBe(true);
    expect(cases(await page(keys.rita, { sort: 'newest' }))).toEqual(['CASE-C', 'CASE-B', 'CASE-A']);
    const strongest = await page(keys.rita, { sort: 'strongest' });
    const best = strongest.items.map((g) => Math.min(...g.faces.flatMap((f) => f.candidates.map((c) => c.estimatedFalseMatchRate))));
    expect(best).toEqual([...best].sort((p, q) => p - q));
    expect(cases(strongest)[0]).toBe('CASE-B');
    expect(best[0]).toBeLessThan(best[1]!);
  });

  it('pages through searches with the cursor of its sort (a cursor of another sort is refused)', async () => {
    for (const sort of ['oldest', 'newest', 'strongest']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const p: { items: Group[]; nextCursor: string | null } = await page(keys.rita, { sort, limit: '1', ...(cursor ? { cursor } : {}) });
        expect(p.items).toHaveLength(1);
        expect(p.items[0]!.faces[0]!.candidates).toHaveLength(3);
        seen.push(p.items[0]!.caseRef);
        cursor = p.nextCursor;
      } while (cursor);
      expect(seen.sort()).toEqual(['CASE-A', 'CASE-B', 'CASE-C']);
    }
    const first = await page(keys.rita, { sort: 'oldest', limit: '1' });
    const bad = await request(svc.app).get(`/v1/reviews/queue/searches?sort=newest&cursor=${first.nextCursor}`).set('Authorization', keys.rita).expect(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('filters by case, watchlist and organization; offers no reviewer the searches they ran, nor another organization’s', async () => {
    expect(cases(await page(keys.rita, { caseRef: 'CASE-B' }))).toEqual(['CASE-B']);
    const w = await page(keys.rita, { watchlistId: wl2 });
    expect(w.items.flatMap((g) => g.faces.flatMap((f) => f.candidates.map((c) => c.displayName)))).toEqual(['Subject W', 'Subject W', 'Subject W']);
    expect((await page(keys.samReviewing)).items).toEqual([]);
    expect((await page(keys.fay)).items).toEqual([]);
    expect((await page(keys.fay, { organization: 'bank-a' })).items).toEqual([]);
    expect(cases(await page(keys.star, { organization: 'bank-a' }))).toEqual(['CASE-A', 'CASE-B', 'CASE-C']);
    expect((await page(keys.star, { organization: 'bank-b' })).items).toEqual([]);
  });

  it('shows a split decision as disputed to a further reviewer, who settles it; each reviewer sees their own decisions', async () => {
    await review(keys.rita, ids.b!, subjects.x!, 'confirmed');
    await review(keys.rob, ids.b!, subjects.x!, 'rejected');
    const rhea = await page(keys.rhea, { state: 'disputed' });
    expect(cases(rhea)).toEqual(['CASE-B']);
    expect(rhea.items[0]!.faces[0]!.candidates.map((c) => [c.displayName, c.review])).toEqual([['Subject X', { state: 'disputed' }]]);
    // In Rhea's undecided queue the disputed candidate says so, the others stay blind; Rita's no longer lists it.
    expect(candidate(await page(keys.rhea), ids.b!, subjects.x!)?.review).toEqual({ state: 'disputed' });
    expect(candidate(await page(keys.rhea), ids.b!, subjects.y!)?.review).toEqual({ state: 'blind' });
    expect(candidate(await page(keys.rita), ids.b!, subjects.x!)).toBeUndefined();
    expect(candidate(await page(keys.rita, { state: 'decided' }), ids.b!, subjects.x!)).toMatchObject({ ownDecision: 'confirmed', review: { state: 'disputed', confirmations: 1, rejections: 1 } });

    expect((await review(keys.rhea, ids.b!, subjects.x!, 'confirmed')).body.candidateReview).toMatchObject({ state: 'confirmed', confirmations: 2, rejections: 1 });
    expect((await page(keys.star, { state: 'disputed' })).items).toEqual([]);
    expect(candidate(await page(keys.star), ids.b!, subjects.x!)).toBeUndefined();
    expect(candidate(await page(keys.rob, { state: 'decided' }), ids.b!, subjects.x!)).toMatchObject({ ownDecision: 'rejected', review: { state: 'confirmed' } });
    const stats = (await request(svc.app).get('/v1/oversight/stats').set('Authorization', (await svc.key(['auditor'], '*')).auth).expect(200)).body;
    expect(stats.candidates).toMatchObject({ confirmed: 1, disputed: 0, disagreements: 1 });
  });
});
