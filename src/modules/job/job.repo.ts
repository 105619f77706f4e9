import type { Queryable } from '../../shared/db';
import type { ItemSummary, JobCounts, JobItem, JobKind, JobRecord, JobSearchParams, LeasedItem, NewItem, StoredJobStatus } from './job.model';

/** Serialises job submissions of one key (with the key id's hash), so the per-key limit of active jobs holds exactly. */
const SUBMIT_LOCK_KEY = 740_633_215;

interface JobRow {
  id: string;
  kind: JobKind;
  organization: string;
  key_id: string;
  purpose: string;
  case_ref: string;
  params: JobSearchParams;
  status: StoredJobStatus;
  items_total: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

interface ItemRow {
  job_id: string;
  seq: number;
  client_ref: string | null;
  file_name: string | null;
  status: JobItem['status'];
  attempts: number;
  search_id: string | null;
  error_code: string | null;
  error_message: string | null;
  summary: ItemSummary | null;
  finished_at: Date | null;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

const toJob = (r: JobRow): JobRecord => ({
  id: r.id,
  kind: r.kind,
  organization: r.organization,
  keyId: r.key_id,
  purpose: r.purpose,
  caseRef: r.case_ref,
  params: r.params,
  status: r.status,
  itemsTotal: r.items_total,
  createdAt: iso(r.created_at)!,
  startedAt: iso(r.started_at),
  finishedAt: iso(r.finished_at),
});

const toItem = (r: ItemRow): JobItem => ({
  jobId: r.job_id,
  seq: r.seq,
  clientRef: r.client_ref,
  fileName: r.file_name,
  status: r.status,
  attempts: r.attempts,
  searchId: r.search_id,
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
  summary: r.summary,
  finishedAt: iso(r.finished_at),
});

/** The SQL of screening jobs and the queue of their items (migrations 0150, 0200). */
export function createJobRepo() {
  return {
    /** Run in the submission's transaction: takes the key's submission lock, then counts its queued jobs. */
    async lockActive(tx: Queryable, keyId: string): Promise<number> {
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SUBMIT_LOCK_KEY, keyId]);
      const r = await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM screening_job WHERE key_id = $1 AND status = 'queued'", [keyId]);
      return r.rows[0]!.n;
    },

    /** The key's queued jobs, without the lock (the route's early refusal before an upload is read). */
    async activeCount(db: Queryable, keyId: string): Promise<number> {
      const r = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM screening_job WHERE key_id = $1 AND status = 'queued'", [keyId]);
      return r.rows[0]!.n;
    },

    /** A new job and its items (numbered from 1 in the given order); items with an error are final (failed) at once. */
    async insert(tx: Queryable, job: Omit<JobRecord, 'status' | 'itemsTotal' | 'startedAt' | 'finishedAt'>, items: NewItem[]): Promise<void> {
      const pending = items.some((i) => !i.error);
      await tx.query(
        `INSERT INTO screening_job (id, kind, organization, key_id, purpose, case_ref, params, status, items_total, created_at, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [job.id, job.kind, job.organization, job.keyId, job.purpose, job.caseRef, JSON.stringify(job.params), pending ? 'queued' : 'done', items.length, job.createdAt, pending ? null : job.createdAt],
      );
      // One statement per 1000 items (parameter arrays, never SQL built from values).
      for (let from = 0; from < items.length; from += 1000) {
        const part = items.slice(from, from + 1000);
        await tx.query(
          `INSERT INTO screening_job_item (job_id, seq, client_ref, file_name, stored_file, status, error_code, error_message, finished_at)
           SELECT $1, x.seq, x.client_ref, x.file_name, x.stored_file, CASE WHEN x.error_code IS NULL THEN 'pending' ELSE 'failed' END,
                  x.error_code, x.error_message, CASE WHEN x.error_code IS NULL THEN NULL ELSE $2::timestamptz END
             FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS x(seq, client_ref, file_name, stored_file, error_code, error_message)`,
          [
            job.id,
            job.createdAt,
            part.map((_, i) => from + i + 1),
            part.map((i) => i.clientRef),
            part.map((i) => i.fileName),
            part.map((i) => (i.error ? null : i.storedFile)),
            part.map((i) => i.error?.code ?? null),
            part.map((i) => i.error?.message ?? null),
          ],
        );
      }
    },

    async get(db: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<JobRecord | null> {
      const r = await db.query<JobRow>(`SELECT * FROM screening_job WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
      return r.rows[0] ? toJob(r.rows[0]) : null;
    },

    /** Jobs of an organization (null: every one), newest first. */
    async list(db: Queryable, organization: string | null, limit: number): Promise<JobRecord[]> {
      const r = await db.query<JobRow>(
        'SELECT * FROM screening_job WHERE ($1::text IS NULL OR organization = $1) ORDER BY created_at DESC, id DESC LIMIT $2',
        [organization, limit],
      );
      return r.rows.map(toJob);
    },

    async counts(db: Queryable, jobId: string): Promise<JobCounts> {
      const r = await db.query<{ pending: number; leased: number; done: number; failed: number; cancelled: number; with_candidates: number; last_finished_at: Date | null }>(
        `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
                count(*) FILTER (WHERE status = 'pending' AND lease_until > clock_timestamp())::int AS leased,
                count(*) FILTER (WHERE status = 'done')::int AS done,
                count(*) FILTER (WHERE status = 'failed')::int AS failed,
                count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
                count(*) FILTER (WHERE status = 'done' AND (summary->>'candidates')::int > 0)::int AS with_candidates,
                max(finished_at) FILTER (WHERE status IN ('done', 'failed')) AS last_finished_at
           FROM screening_job_item WHERE job_id = $1`,
        [jobId],
      );
      const x = r.rows[0]!;
      return { pending: x.pending, leased: x.leased, done: x.done, failed: x.failed, cancelled: x.cancelled, withCandidates: x.with_candidates, lastFinishedAt: iso(x.last_finished_at) };
    },

    /** Items after `afterSeq`, in order. */
    async items(db: Queryable, jobId: string, afterSeq: number, limit: number): Promise<JobItem[]> {
      const r = await db.query<ItemRow>('SELECT * FROM screening_job_item WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [jobId, afterSeq, limit]);
      return r.rows.map(toItem);
    },

    /**
     * Takes the next pending item of the oldest queued job that nobody holds a live lease on: FOR UPDATE SKIP LOCKED, so
     * instances claiming at once take different items without waiting; a lease whose time ran out (its instance died) is
     * taken over with a fresh lease id, which the old holder can no longer record under. Marks the job started.
     */
    async claim(db: Queryable, leaseMs: number): Promise<LeasedItem | null> {
      const r = await db.query<{ job_id: string; seq: number; lease_id: string; stored_file: string | null; attempts: number; kind: JobKind; organization: string; key_id: string; purpose: string; case_ref: string; params: JobSearchParams }>(
        `WITH next AS (
           SELECT i.job_id, i.seq FROM screening_job_item i JOIN screening_job j ON j.id = i.job_id
            WHERE i.status = 'pending' AND j.status = 'queued' AND (i.lease_until IS NULL OR i.lease_until <= clock_timestamp())
            ORDER BY j.created_at, i.job_id, i.seq
            LIMIT 1
              FOR UPDATE OF i SKIP LOCKED
         ), taken AS (
           UPDATE screening_job_item i SET lease_id = gen_random_uuid(), lease_until = clock_timestamp() + $1 * interval '1 millisecond', attempts = i.attempts + 1
             FROM next WHERE i.job_id = next.job_id AND i.seq = next.seq
           RETURNING i.job_id, i.seq, i.lease_id, i.stored_file, i.attempts
         ), started AS (
           UPDATE screening_job j SET started_at = clock_timestamp() FROM taken WHERE j.id = taken.job_id AND j.started_at IS NULL RETURNING j.id
         )
         SELECT t.*, j.kind, j.organization, j.key_id, j.purpose, j.case_ref, j.params FROM taken t JOIN screening_job j ON j.id = t.job_id`,
        [leaseMs],
      );
      const x = r.rows[0];
      if (!x) return null;
      return { jobId: x.job_id, seq: x.seq, leaseId: x.lease_id, storedFile: x.stored_file, attempts: x.attempts, job: { kind: x.kind, organization: x.organization, keyId: x.key_id, purpose: x.purpose, caseRef: x.case_ref, params: x.params } };
    },

    /**
     * Extends the lease of an item still being searched (a long clip outlasts SCREENING_JOB_LEASE_MS); false when the lease is
     * no longer this caller's (taken over, or the job was cancelled).
     */
    async renew(db: Queryable, it: { jobId: string; seq: number; leaseId: string; leaseMs: number }): Promise<boolean> {
      const r = await db.query(
        `UPDATE screening_job_item SET lease_until = clock_timestamp() + $4 * interval '1 millisecond'
          WHERE job_id = $1 AND seq = $2 AND lease_id = $3 AND status = 'pending'`,
        [it.jobId, it.seq, it.leaseId, it.leaseMs],
      );
      return r.rowCount === 1;
    },

    /** The item searched, recorded by the holder of `leaseId` only (false: the lease is no longer this caller's). */
    async complete(tx: Queryable, it: { jobId: string; seq: number; leaseId: string; searchId: string; summary: ItemSummary }): Promise<boolean> {
      const r = await tx.query(
        `UPDATE screening_job_item SET status = 'done', search_id = $4, summary = $5, stored_file = NULL, lease_id = NULL, lease_until = NULL, finished_at = clock_timestamp()
          WHERE job_id = $1 AND seq = $2 AND lease_id = $3 AND status = 'pending'`,
        [it.jobId, it.seq, it.leaseId, it.searchId, JSON.stringify(it.summary)],
      );
      return r.rowCount === 1;
    },

    /** The item failed with `code`, recorded by the holder of `leaseId` only. */
    async fail(tx: Queryable, it: { jobId: string; seq: number; leaseId: string; code: string; message: string }): Promise<boolean> {
      const r = await tx.query(
        `UPDATE screening_job_item SET status = 'failed', error_code = $4, error_message = $5, stored_file = NULL, lease_id = NULL, lease_until = NULL, finished_at = clock_timestamp()
          WHERE job_id = $1 AND seq = $2 AND lease_id = $3 AND status = 'pending'`,
        [it.jobId, it.seq, it.leaseId, it.code, it.message.slice(0, 1000)],
      );
      return r.rowCount === 1;
    },

    /** Gives the item back (a failure of the service, not of the photo): nobody takes it for `delayMs`. */
    async release(db: Queryable, it: { jobId: string; seq: number; leaseId: string; delayMs: number }): Promise<void> {
      await db.query(
        `UPDATE screening_job_item SET lease_id = NULL, lease_until = clock_timestamp() + $4 * interval '1 millisecond'
          WHERE job_id = $1 AND seq = $2 AND lease_id = $3 AND status = 'pending'`,
        [it.jobId, it.seq, it.leaseId, it.delayMs],
      );
    },

    /** Marks the job done if no item is pending any more; true when this call did. */
    async finishIfComplete(db: Queryable, jobId: string): Promise<boolean> {
      const r = await db.query(
        `UPDATE screening_job SET status = 'done', finished_at = clock_timestamp()
          WHERE id = $1 AND status = 'queued' AND NOT EXISTS (SELECT 1 FROM screening_job_item WHERE job_id = $1 AND status = 'pending')`,
        [jobId],
      );
      return r.rowCount === 1;
    },

    /**
     * Cancels a queued job in the caller's transaction: its pending items become cancelled (an item being searched right now
     * waits for that search's transaction and stays done if it committed). Returns the number of items cancelled, or null
     * when the job was no longer queued.
     */
    async cancel(tx: Queryable, jobId: string): Promise<number | null> {
      const j = await tx.query("UPDATE screening_job SET status = 'cancelled', finished_at = clock_timestamp() WHERE id = $1 AND status = 'queued'", [jobId]);
      if (j.rowCount === 0) return null;
      const r = await tx.query(
        "UPDATE screening_job_item SET status = 'cancelled', stored_file = NULL, lease_id = NULL, lease_until = NULL, finished_at = clock_timestamp() WHERE job_id = $1 AND status = 'pending'",
        [jobId],
      );
      return r.rowCount;
    },

    /** The photos still waiting under a job's folder (pending items' stored files). */
    async waitingFiles(db: Queryable, jobId: string): Promise<string[]> {
      const r = await db.query<{ f: string }>("SELECT stored_file AS f FROM screening_job_item WHERE job_id = $1 AND status = 'pending' AND stored_file IS NOT NULL", [jobId]);
      return r.rows.map((x) => x.f);
    },
  };
}

export type JobRepo = ReturnType<typeof createJobRepo>;
