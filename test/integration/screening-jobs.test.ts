import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import type { FaceEngine } from '../../src/shared/face.types';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { createJobRepo } from '../../src/modules/job/job.repo';
import { backends, type TestDb } from '../helpers/databases';
import { startService } from '../helpers/app';
import { sample } from '../helpers/fixtures';
import { blankImage } from '../helpers/images';

/**
 * Batch screening jobs end to end (docs/batch-screening.md): real models, the face-api demo photos, the real runner on the
 * database queue. Every item must end with exactly one stored search (or one audited refusal) whatever stops the runner.
 */
let engine: FaceEngine;
beforeAll(async () => {
  engine = await createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 16, maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 });
});
afterAll(() => engine?.close());

const until = async <T>(what: string, f: () => Promise<T | null | undefined | false>, tries = 2400): Promise<T> => {
  for (let i = 0; i < tries; i++) {
    const v = await f();
    if (v) return v;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
};

describe.each(backends())('screening jobs on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let jobDir: string;
  let searcher: string;
  let subjectId: string;
  const photos: Array<{ name: string; bytes: Buffer }> = [];

  beforeAll(async () => {
    t = await backend.open();
    jobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-jobs-'));
    svc = await startService(t.db, {
      engine,
      env: { SCREENING_JOB_DIR: jobDir, SCREENING_JOB_CONCURRENCY: '2', SCREENING_JOB_POLL_MS: '50', SCREENING_JOB_MAX_ACTIVE_PER_KEY: '2', SCREENING_JOB_MAX_ITEMS: '12' },
    });
    await svc.startEngine();
    const enroller = (await svc.key(['enroller'], 'fiu')).auth;
    searcher = (await svc.key(['searcher'], 'bank-a')).auth;
    await svc.watchlist('fiu', 'sanctions-eu', [{ organization: 'bank-a', access: 'screen' }]);
    // The subject: the largest face of sample 3, cropped.
    const { faces } = await engine.analyze(sample(3));
    const b = faces[0]!.box;
    const crop = await sharp(sample(3)).extract({ left: Math.max(0, Math.round(b.x - b.width * 0.35)), top: Math.max(0, Math.round(b.y - b.height * 0.35)), width: Math.round(b.width * 1.7), height: Math.round(b.height * 1.7) }).jpeg({ quality: 92 }).toBuffer();
    const s = await request(svc.app).post('/v1/subjects').set('Authorization', enroller).send({ displayName: 'Listed person', category: 'sanctions', watchlist: 'sanctions-eu', legalBasis: 'test' });
    subjectId = s.body.id;
    await request(svc.app).post(`/v1/subjects/${subjectId}/faces`).set('Authorization', enroller).attach('image', crop, 'face.jpg').expect(201);
    // Ten photos: the six group photos, two re-encodings of sample 3, a wall with no face and bytes that are no image.
    for (const n of [1, 2, 3, 4, 5, 6] as const) photos.push({ name: `sample${n}.jpg`, bytes: sample(n) });
    photos.push({ name: 'sample3-small.jpg', bytes: await sharp(sample(3)).resize({ width: 900 }).jpeg().toBuffer() });
    photos.push({ name: 'sample3.png', bytes: await sharp(sample(3)).png().toBuffer() });
    photos.push({ name: 'wall.jpg', bytes: await blankImage() });
    photos.push({ name: 'notes.jpg', bytes: Buffer.from('this is not an image at all') });
  });
  afterAll(async () => {
    await svc?.jobWorker.stop();
    await t?.drop();
    fs.rmSync(jobDir, { recursive: true, force: true });
  });

  const submit = (caseRef: string, files: Array<{ name: string; bytes: Buffer }>, manifest?: { name: string; text: string }, fields: Record<string, string> = {}) => {
    const req = request(svc.app).post('/v1/jobs').set('Authorization', searcher);
    for (const [k, v] of Object.entries({ purpose: 'KYC re-screening after a list update', caseRef, mode: 'screening', ...fields })) req.field(k, v);
    for (const f of files) req.attach('images', f.bytes, f.name);
    if (manifest) req.attach('manifest', Buffer.from(manifest.text), manifest.name);
    return req;
  };
  const job = (id: string) => request(svc.app).get(`/v1/jobs/${id}`).set('Authorization', searcher);
  const finished = (id: string) => until(`job ${id}`, async () => {
    const r = await job(id);
    return r.body.status === 'done' || r.body.status === 'cancelled' ? r.body : null;
  });
  /** Per item of the job: its stored searches (by the job's case reference) and audit events naming it. */
  const ledger = async (jobId: string, caseRef: string) => {
    const items = (await t.db.query<{ seq: number; status: string; search_id: string | null; error_code: string | null }>('SELECT seq, status, search_id, error_code FROM screening_job_item WHERE job_id = $1 ORDER BY seq', [jobId])).rows;
    const searches = (await t.db.query<{ id: string }>('SELECT id FROM search WHERE case_ref = $1', [caseRef])).rows.map((r) => r.id);
    const events = (await t.db.query<{ type: string; seq: number; search_id: string | null }>(
      "SELECT type, (payload->'job'->>'item')::int AS seq, search_id FROM audit_event WHERE payload->'job'->>'id' = $1 ORDER BY seq",
      [jobId],
    )).rows;
    return { items, searches, events };
  };

  it('a job of ten photos with an NDJSON manifest completes: one audited search per photo, refusals with their codes, results paged and as NDJSON', async () => {
    const manifest = photos.map((p, i) => JSON.stringify({ file: p.name, clientRef: `CUST-${i + 1}` })).join('\n');
    const res = await submit('KYC-2026-1', photos, { name: 'manifest.ndjson', text: manifest });
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/v1/jobs/${res.body.id}`);
    expect(res.body).toMatchObject({ status: 'queued', mode: 'screening', caseRef: 'KYC-2026-1', items: { total: 10, pending: 10, done: 0 } });
    await svc.jobWorker.start();
    const done = await finished(res.body.id);
    await svc.jobWorker.stop();
    expect(done).toMatchObject({ status: 'done', etaSeconds: 0, items: { total: 10, pending: 0, done: 8, failed: 2, cancelled: 0 } });
    expect(done.ratePerSecond).toBeGreaterThan(0);
    expect(done.items.withCandidates).toBeGreaterThanOrEqual(3);

    const first = await request(svc.app).get(`/v1/jobs/${res.body.id}/results?limit=4`).set('Authorization', searcher).expect(200);
    expect(first.body.items.map((i: { seq: number }) => i.seq)).toEqual([1, 2, 3, 4]);
    const rest = await request(svc.app).get(`/v1/jobs/${res.body.id}/results?limit=50&cursor=${first.body.nextCursor}`).set('Authorization', searcher).expect(200);
    expect(rest.body.nextCursor).toBeNull();
    const items = [...first.body.items, ...rest.body.items];
    expect(items.map((i: { clientRef: string }) => i.clientRef)).toEqual(photos.map((_, i) => `CUST-${i + 1}`));
    const byName = new Map<string, { searchId: string; search: { faces: Array<{ candidates: Array<{ subjectId: string }> }> } }>(items.map((i: { fileName: string }) => [i.fileName, i as never]));
    expect(byName.get('wall.jpg')).toMatchObject({ status: 'failed', searchId: null, error: { code: 'NO_FACE' } });
    expect(byName.get('notes.jpg')).toMatchObject({ status: 'failed', error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    for (const name of ['sample3.jpg', 'sample3-small.jpg', 'sample3.png']) {
      const it = byName.get(name)!;
      expect(it).toMatchObject({ status: 'done', searchId: expect.any(String), search: { searchId: it.searchId, caseRef: 'KYC-2026-1', mode: 'screening' } });
      const hit = it.search.faces.flatMap((f) => f.candidates).map((c) => c.subjectId);
      expect(hit).toContain(subjectId);
    }

    const nd = await request(svc.app).get(`/v1/jobs/${res.body.id}/results?format=ndjson`).set('Authorization', searcher).buffer(true).parse((r, cb) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => cb(null, text));
    });
    expect(nd.status).toBe(200);
    expect(nd.headers['content-type']).toMatch(/application\/x-ndjson/);
    const lines = (nd.body as string).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.seq, l.status, l.searchId])).toEqual(items.map((i) => [i.seq, i.status, i.searchId]));

    const l = await ledger(res.body.id, 'KYC-2026-1');
    expect(l.searches.sort()).toEqual(l.items.filter((i) => i.status === 'done').map((i) => i.search_id).sort());
    expect(l.events.filter((e) => e.type === 'search.run').map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(l.events.filter((e) => e.type === 'search.failed').map((e) => e.seq)).toEqual([9, 10]);
    // Photos are not kept past their search.
    expect(fs.existsSync(path.join(jobDir, res.body.id))).toBe(false);
  });

  it('bad manifest rows become failed items with their line and code; a manifest that is no manifest, or too many photos, is refused and nothing kept', async () => {
    const csv = ['file,clientRef', 'sample1.jpg,C-1', 'missing.jpg,C-2', '"broken.jpg,C-3', 'sample1.jpg,C-4', `sample2.jpg,${'x'.repeat(300)}`, ''].join('\n');
    const res = await submit('KYC-2026-2', [photos[0]!, photos[1]!, photos[3]!], { name: 'manifest.csv', text: csv });
    expect(res.status).toBe(202);
    expect(res.body.items).toMatchObject({ total: 7, pending: 1, failed: 6 });
    await svc.jobWorker.start();
    await finished(res.body.id);
    await svc.jobWorker.stop();
    const r = await request(svc.app).get(`/v1/jobs/${res.body.id}/results`).set('Authorization', searcher).expect(200);
    expect(r.body.items.map((i: { seq: number; status: string; clientRef: string | null; error: { code: string } | null }) => [i.seq, i.status, i.clientRef, i.error?.code ?? null])).toEqual([
      [1, 'done', 'C-1', null],
      [2, 'failed', 'C-2', 'MANIFEST_FILE_MISSING'],
      [3, 'failed', null, 'MANIFEST_ROW_INVALID'],
      [4, 'failed', 'C-4', 'MANIFEST_ROW_INVALID'],
      [5, 'failed', null, 'MANIFEST_ROW_INVALID'],
      // sample2.jpg's row was not valid, so no row names it; sample4.jpg no row names at all.
      [6, 'failed', null, 'NOT_IN_MANIFEST'],
      [7, 'failed', null, 'NOT_IN_MANIFEST'],
    ]);
    expect(r.body.items[1].error.message).toMatch(/^Manifest line 3: /);
    expect(r.body.items.slice(5).map((i: { fileName: string }) => i.fileName)).toEqual(['sample2.jpg', 'sample4.jpg']);
    expect((await ledger(res.body.id, 'KYC-2026-2')).searches).toHaveLength(1);

    const jobsBefore = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM screening_job')).rows[0]!.n;
    const noFileColumn = await submit('KYC-2026-3', [photos[0]!], { name: 'm.csv', text: 'name,clientRef\nsample1.jpg,C-1\n' });
    expect(noFileColumn.status).toBe(400);
    expect(noFileColumn.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'manifest' }] });
    const tooMany = await submit('KYC-2026-4', Array.from({ length: 13 }, (_, i) => ({ name: `p${i}.jpg`, bytes: photos[0]!.bytes })));
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { maxItems: 12 } });
    const noPurpose = await request(svc.app).post('/v1/jobs').set('Authorization', searcher).field('caseRef', 'X').attach('images', photos[0]!.bytes, 'a.jpg');
    expect(noPurpose.status).toBe(400);
    expect(noPurpose.body.error.code).toBe('PURPOSE_REQUIRED');
    const badWatchlist = await submit('KYC-2026-5', [photos[0]!], undefined, { watchlists: 'nobody-has-this' });
    expect(badWatchlist.body.error.code).toBe('UNKNOWN_WATCHLIST');
    expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM screening_job')).rows[0]!.n).toBe(jobsBefore);
    expect(fs.readdirSync(jobDir)).toEqual([]);
  });

  it('a key may have two active jobs: the third is 429 with Retry-After until one is cancelled; a cancelled job searches nothing more', async () => {
    const a = await submit('KYC-2026-6', photos.slice(0, 3));
    const b = await submit('KYC-2026-7', photos.slice(0, 1));
    expect([a.status, b.status]).toEqual([202, 202]);
    const c = await submit('KYC-2026-8', photos.slice(0, 1));
    expect(c.status).toBe(429);
    expect(c.body.error.code).toBe('RATE_LIMITED');
    expect(Number(c.headers['retry-after'])).toBeGreaterThan(0);
    const other = await svc.key(['searcher'], 'bank-a');
    const reader = await svc.key(['searcher'], 'bank-b');
    expect((await request(svc.app).get(`/v1/jobs/${a.body.id}`).set('Authorization', reader.auth)).status).toBe(404);
    // The limit is per key: another key of the organization may submit.
    const d = await request(svc.app).post('/v1/jobs').set('Authorization', other.auth).field('purpose', 'KYC onboarding check').field('caseRef', 'KYC-2026-9').attach('images', photos[0]!.bytes, 'a.jpg');
    expect(d.status).toBe(202);

    const cancelled = await request(svc.app).post(`/v1/jobs/${a.body.id}/cancel`).set('Authorization', searcher);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', items: { total: 3, cancelled: 3, pending: 0 } });
    expect((await request(svc.app).post(`/v1/jobs/${a.body.id}/cancel`).set('Authorization', searcher)).body.error.code).toBe('CONFLICT');
    const e = await submit('KYC-2026-8', photos.slice(0, 1));
    expect(e.status).toBe(202);
    await svc.jobWorker.start();
    for (const id of [b.body.id, d.body.id, e.body.id]) await finished(id);
    await svc.jobWorker.stop();
    expect((await ledger(a.body.id, 'KYC-2026-6')).searches).toEqual([]);
    const ev = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_event WHERE type = 'screening_job.cancelled' AND payload->>'jobId' = $1", [a.body.id]);
    expect(ev.rows[0]!.n).toBe(1);
  });

  it('a runner stopped mid-job and items leased by a runner that died: the next runner takes them over, each item searched and recorded exactly once', async () => {
    const res = await submit('KYC-2026-10', photos);
    expect(res.status).toBe(202);
    await svc.jobWorker.start();
    await until('three items done', async () => (await job(res.body.id)).body.items.done >= 3);
    await svc.jobWorker.stop();
    // A runner that took two items and died: its leases (300 ms) run out and nobody records under them.
    const repo = createJobRepo();
    const dead = [await repo.claim(t.db, 300), await repo.claim(t.db, 300)].filter((x) => x);
    expect(dead.length).toBeGreaterThanOrEqual(1);
    await svc.jobWorker.start();
    const done = await finished(res.body.id);
    await svc.jobWorker.stop();
    expect(done.items).toMatchObject({ total: 10, done: 8, failed: 2, pending: 0 });
    // The dead runner's lease ids are void: recording under one changes nothing.
    expect(await repo.fail(t.db, { jobId: dead[0]!.jobId, seq: dead[0]!.seq, leaseId: dead[0]!.leaseId, code: 'X', message: 'late' })).toBe(false);
    const l = await ledger(res.body.id, 'KYC-2026-10');
    expect(l.items.every((i) => i.status === 'done' || i.status === 'failed')).toBe(true);
    expect(l.searches.sort()).toEqual(l.items.filter((i) => i.status === 'done').map((i) => i.search_id).sort());
    const perItem = new Map<number, number>();
    for (const e of l.events) perItem.set(e.seq, (perItem.get(e.seq) ?? 0) + 1);
    expect([...perItem.entries()].sort((x, y) => x[0] - y[0])).toEqual(l.items.map((i) => [i.seq, 1]));
    const retaken = await t.db.query<{ attempts: number }>('SELECT attempts FROM screening_job_item WHERE job_id = $1 AND seq = $2', [dead[0]!.jobId, dead[0]!.seq]);
    expect(retaken.rows[0]!.attempts).toBeGreaterThanOrEqual(2);
  });
});
