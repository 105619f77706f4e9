import type { Db } from '../../shared/db';
import { canSeeOrganization, type Principal } from '../../shared/principal';
import { ConflictError, NotFoundError, RateLimitedError, ValidationError } from '../../shared/errors';
import { actorOf, type AuditLog } from '../audit/audit.model';
import { mapStoredSearch, type SearchParams, type SearchRunner } from '../search/search.model';
import { ITEM_ERRORS, type JobCounts, type JobItem, type JobKind, type JobRecord, type JobSearchParams, type JobStatus, type NewItem } from './job.model';
import type { JobRepo } from './job.repo';
import type { JobFiles } from './job-files';
import { ManifestError, parseManifest } from './manifest';

/** One uploaded photo as the upload stored it (job-upload.ts). */
export interface UploadedPhoto {
  fileName: string;
  storedFile: string;
  /** Over MAX_UPLOAD_BYTES: nothing of it was kept; its item fails with PAYLOAD_TOO_LARGE. */
  oversized: boolean;
}

/** The clip of a video job under its folder (job-files.ts). */
const VIDEO_FILE = 'clip.video';

/** Retry-After of a refused submission when the key has the most jobs it may have running. */
const ACTIVE_LIMIT_RETRY_SECONDS = 60;

export function createJobService(d: {
  db: Db;
  repo: JobRepo;
  files: JobFiles;
  audit: AuditLog;
  searches: SearchRunner;
  limits: { maxItems: number; maxActivePerKey: number; uploadBytes: number };
  /** Called when a job was submitted, so this instance's runner starts on it at once. */
  onSubmitted?: () => void;
  clock?: () => Date;
}) {
  const { db, repo, files, audit } = d;
  const now = d.clock ?? (() => new Date());

  const tooMany = (active: number) =>
    new RateLimitedError(ACTIVE_LIMIT_RETRY_SECONDS, {}, `This API key has ${active} screening jobs queued or running, the most it may have (SCREENING_JOB_MAX_ACTIVE_PER_KEY = ${d.limits.maxActivePerKey}); submit this one when one of them is done, or cancel one.`);

  /** The items of a submission: one per manifest row in its order (then unlisted photos), or one per photo in upload order. */
  function itemsOf(photos: UploadedPhoto[], manifest: string | null): NewItem[] {
    const tooLarge = { code: ITEM_ERRORS.PAYLOAD_TOO_LARGE, message: `The photo exceeds the limit of ${d.limits.uploadBytes} bytes (MAX_UPLOAD_BYTES); it was not kept.` };
    const photoItem = (p: UploadedPhoto, clientRef: string | null): NewItem => ({ clientRef, fileName: p.fileName, storedFile: p.storedFile, error: p.oversized ? tooLarge : null });
    if (manifest === null) return photos.map((p) => photoItem(p, null));
    let rows;
    try {
      rows = parseManifest(manifest, d.limits.maxItems);
    } catch (e) {
      if (e instanceof ManifestError) throw new ValidationError(e.message, [{ path: 'manifest', message: e.message }]);
      throw e;
    }
    const byName = new Map<string, UploadedPhoto[]>();
    for (const p of photos) byName.set(p.fileName, [...(byName.get(p.fileName) ?? []), p]);
    const used = new Set<UploadedPhoto>();
    const named = new Set<string>();
    const items: NewItem[] = rows.map((r) => {
      const bad = (code: string, message: string): NewItem => ({ clientRef: r.clientRef ?? null, fileName: r.file ?? null, storedFile: null, error: { code, message: `Manifest line ${r.line}: ${message}` } });
      if (r.error) return bad(ITEM_ERRORS.MANIFEST_ROW_INVALID, r.error);
      const file = r.file!;
      if (named.has(file)) return bad(ITEM_ERRORS.MANIFEST_ROW_INVALID, `the file ${JSON.stringify(file)} is named by an earlier row too`);
      named.add(file);
      const same = byName.get(file) ?? [];
      if (same.length === 0) return bad(ITEM_ERRORS.MANIFEST_FILE_MISSING, `no uploaded file is named ${JSON.stringify(file)}`);
      if (same.length > 1) return bad(ITEM_ERRORS.MANIFEST_ROW_INVALID, `${same.length} uploaded files are named ${JSON.stringify(file)}: the row cannot say which`);
      used.add(same[0]!);
      return photoItem(same[0]!, r.clientRef ?? null);
    });
    for (const p of photos) {
      if (!used.has(p) && !(named.has(p.fileName) && (byName.get(p.fileName)?.length ?? 0) > 1)) {
        items.push({ clientRef: null, fileName: p.fileName, storedFile: null, error: { code: ITEM_ERRORS.NOT_IN_MANIFEST, message: 'No manifest row names this file; it was not searched.' } });
      } else if (!used.has(p)) {
        items.push({ clientRef: null, fileName: p.fileName, storedFile: null, error: { code: ITEM_ERRORS.MANIFEST_ROW_INVALID, message: 'Several uploaded files have this name, so no manifest row can name it; it was not searched.' } });
      }
    }
    return items;
  }

  /** The job and its items stored and audited in one transaction, under the key's submission lock and active-job limit. */
  async function insertJob(p: Principal, id: string, kind: JobKind, searchParams: SearchParams, items: NewItem[]): Promise<void> {
    const { purpose, caseRef, federation: _none, ...params } = searchParams;
    const jobParams: JobSearchParams = params;
    const createdAt = now().toISOString();
    await db.transaction(async (tx) => {
      const active = await repo.lockActive(tx, p.keyId);
      if (active >= d.limits.maxActivePerKey) throw tooMany(active);
      await repo.insert(tx, { id, kind, organization: p.organization, keyId: p.keyId, purpose, caseRef, params: jobParams, createdAt }, items);
      await audit.append(tx, {
        type: 'screening_job.created',
        actor: actorOf(p),
        payload: { jobId: id, kind, purpose, caseRef, mode: jobParams.mode, items: items.length, refusedAtSubmission: items.filter((i) => i.error).length, watchlists: jobParams.watchlists ?? null },
      }, new Date(createdAt));
    });
  }

  /** A job just stored: this instance's runner is woken, and the job is answered as GET /v1/jobs/{id} shows it. */
  async function submitted(id: string) {
    d.onSubmitted?.();
    const job = (await repo.get(db, id))!;
    return view(job, await repo.counts(db, job.id));
  }

  function statusOf(job: JobRecord): JobStatus {
    return job.status === 'queued' && job.startedAt ? 'running' : job.status;
  }

  /**
   * Progress: items per second since the first item was taken (up to the last one finished, or now while running) and the
   * seconds the pending items would take at that rate (null before two items are final).
   */
  function view(job: JobRecord, c: JobCounts) {
    const finished = c.done + c.failed;
    const until = job.status === 'queued' ? now().getTime() : Date.parse(c.lastFinishedAt ?? job.finishedAt ?? job.createdAt);
    const seconds = job.startedAt ? Math.max(0.001, (until - Date.parse(job.startedAt)) / 1000) : 0;
    const rate = job.startedAt && finished >= 2 ? finished / seconds : null;
    return {
      id: job.id,
      kind: job.kind,
      status: statusOf(job),
      purpose: job.purpose,
      caseRef: job.caseRef,
      mode: job.params.mode,
      organization: job.organization,
      keyId: job.keyId,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      items: { total: job.itemsTotal, pending: c.pending, inProgress: c.leased, done: c.done, failed: c.failed, cancelled: c.cancelled, withCandidates: c.withCandidates },
      ratePerSecond: rate === null ? null : Math.round(rate * 1000) / 1000,
      etaSeconds: job.status !== 'queued' ? 0 : rate === null ? null : Math.ceil(c.pending / rate),
    };
  }

  async function visible(p: Principal, id: string): Promise<JobRecord> {
    const job = await repo.get(db, id);
    if (!job || !canSeeOrganization(p, job.organization)) throw new NotFoundError('Screening job');
    return job;
  }

  /** One item as results list it: a done item with its search as GET /v1/searches/{id} shows it to this caller now. */
  async function itemView(p: Principal, it: JobItem) {
    let search: ReturnType<typeof mapStoredSearch> | null = null;
    if (it.searchId) {
      try {
        search = mapStoredSearch(await d.searches.get(p, it.searchId));
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
    return { seq: it.seq, clientRef: it.clientRef, fileName: it.fileName, status: it.status, searchId: it.searchId, error: it.error, summary: it.summary, finishedAt: it.finishedAt, search };
  }

  return {
    /** POST /v1/jobs/video's refusal before its upload is read: 501 DECODER_UNAVAILABLE where no decoder was found at start. */
    requireVideo: () => d.searches.requireVideo(),

    /** The route's early refusal, before an upload of a key at its limit is read (the authoritative check is in `create`). */
    async checkActiveLimit(p: Principal): Promise<void> {
      const active = await repo.activeCount(db, p.keyId);
      if (active >= d.limits.maxActivePerKey) throw tooMany(active);
    },

    /**
     * A job from an upload already on disk under `files.dirOf(id)`: checked as a search would be checked (purpose policy,
     * named watchlists), its items made (manifest rows in order), stored and audited in one transaction. Whatever refuses
     * it removes the upload.
     */
    async create(p: Principal, input: { id: string; params: SearchParams; photos: UploadedPhoto[]; manifest: string | null }) {
      try {
        if (input.photos.length === 0) throw new ValidationError('A screening job needs at least one photo in the multipart field `images`.', [{ path: 'images', message: 'required' }]);
        await d.searches.precheck(p, input.params);
        const items = itemsOf(input.photos, input.manifest);
        await insertJob(p, input.id, 'photos', input.params, items);
        // Photos of items that failed at submission (not in the manifest, too large) are not kept.
        const kept = new Set(items.filter((i) => !i.error && i.storedFile).map((i) => i.storedFile));
        for (const ph of input.photos) if (!kept.has(ph.storedFile)) await files.remove(input.id, ph.storedFile);
        await files.remove(input.id, 'manifest');
        if (!kept.size) await files.removeJob(input.id);
      } catch (e) {
        await files.removeJob(input.id);
        throw e;
      }
      return submitted(input.id);
    },

    /**
     * A video job (POST /v1/jobs/video): the clip checked as its search would check it before any frame is decoded (purpose
     * policy, named watchlists, then the decoder's probe and limits: a bad clip is refused now with the code the synchronous
     * route gives), kept under the job's folder, and one item made of it, stored and audited in one transaction. The clip is
     * removed once the item is final, or at once when the submission is refused.
     */
    async createVideo(p: Principal, input: { id: string; params: SearchParams; video: Buffer; fileName: string | null; clientRef: string | null }) {
      try {
        d.searches.requireVideo();
        await d.searches.precheck(p, input.params);
        await d.searches.probeVideo(input.video);
        await files.write(input.id, VIDEO_FILE, input.video);
        await insertJob(p, input.id, 'video', input.params, [{ clientRef: input.clientRef, fileName: input.fileName, storedFile: VIDEO_FILE, error: null }]);
      } catch (e) {
        await files.removeJob(input.id);
        throw e;
      }
      return submitted(input.id);
    },

    async get(p: Principal, id: string) {
      const job = await visible(p, id);
      return view(job, await repo.counts(db, id));
    },

    async list(p: Principal, limit: number) {
      const jobs = await repo.list(db, p.organization === '*' ? null : p.organization, limit);
      return Promise.all(jobs.map(async (j) => view(j, await repo.counts(db, j.id))));
    },

    /** A page of items in order (`after`: the last seq of the previous page). */
    async results(p: Principal, id: string, f: { after: number; limit: number }) {
      await visible(p, id);
      const rows = await repo.items(db, id, f.after, f.limit + 1);
      const items = await Promise.all(rows.slice(0, f.limit).map((it) => itemView(p, it)));
      return { items, nextCursor: rows.length > f.limit ? String(items[items.length - 1]!.seq) : null };
    },

    /** Every item in order, page by page (the NDJSON download). */
    async *allResults(p: Principal, id: string): AsyncGenerator<Awaited<ReturnType<typeof itemView>>> {
      await visible(p, id);
      for (let after = 0; ; ) {
        const rows = await repo.items(db, id, after, 200);
        for (const it of rows) yield await itemView(p, it);
        if (rows.length < 200) return;
        after = rows[rows.length - 1]!.seq;
      }
    },

    /**
     * Cancels a queued or running job: pending items are cancelled (never searched), finished ones keep their results; an
     * item whose search is committing at that moment stays done. Audited. A job already done or cancelled is 409 CONFLICT.
     */
    async cancel(p: Principal, id: string) {
      await visible(p, id);
      const cancelled = await db.transaction(async (tx) => {
        // The audit append lock first: an item's search holds it while it records the item, so the two never wait on each other.
        await audit.lock(tx);
        const n = await repo.cancel(tx, id);
        if (n === null) return null;
        await audit.append(tx, { type: 'screening_job.cancelled', actor: actorOf(p), payload: { jobId: id, itemsCancelled: n } }, now());
        return n;
      });
      if (cancelled === null) {
        const job = (await repo.get(db, id))!;
        throw new ConflictError(`The screening job is ${job.status} already; only a queued or running job can be cancelled.`);
      }
      await files.removeJob(id);
      return this.get(p, id);
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;
