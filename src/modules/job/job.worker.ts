import type { Logger } from 'pino';
import type { Db } from '../../shared/db';
import { AppError } from '../../shared/errors';
import type { Principal } from '../../shared/principal';
import type { KeyDirectory } from '../key/key.model';
import type { SearchRunner, StoredSearchResult } from '../search/search.model';
import { ITEM_ERRORS, type ItemSummary, type LeasedItem } from './job.model';
import type { JobRepo } from './job.repo';
import type { JobFiles } from './job-files';

/** The lease was taken over (it ran out and another instance took the item) or the job was cancelled: record nothing. */
class LeaseLostError extends Error {}

/** A failure of the service (5xx, the database, a missing file) is retried this many times, then the item fails. */
const MAX_ATTEMPTS = 5;
/** Before a retried item may be taken again. */
const RETRY_DELAY_MS = 2_000;

const summaryOf = (r: StoredSearchResult): ItemSummary => ({
  facesDetected: r.probe.facesDetected,
  candidates: r.faces.reduce((n, f) => n + f.candidates.length, 0),
  humanReviewRequired: r.humanReviewRequired,
});

/**
 * The background runner of screening jobs: `concurrency` loops, each taking one pending item at a time from the database queue
 * (job.repo claim: FOR UPDATE SKIP LOCKED with an expiring lease), searching its photo with the submitting key's current
 * principal through the search path of POST /v1/searches, and recording the item in the search's own transaction (or, when the
 * search refuses the photo, in the transaction of its search.failed event), under its lease. An instance that dies leaves its
 * items leased; they are taken again once the lease runs out, and since an item is recorded only with its live lease and in
 * the same transaction as its search, no item is searched into a stored result twice and none is lost.
 */
export function createJobWorker(d: {
  db: Db;
  repo: JobRepo;
  files: JobFiles;
  searches: SearchRunner;
  keys: KeyDirectory;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  logger: Logger;
}) {
  const { db, repo, files, logger } = d;
  let running = false;
  let loops: Promise<void>[] = [];
  const sleepers = new Set<() => void>();
  const wake = () => {
    for (const w of [...sleepers]) w();
  };
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        sleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      sleepers.add(done);
    });

  async function principalOf(item: LeasedItem): Promise<Principal | null> {
    const key = await d.keys.findById(db, item.job.keyId);
    if (!key || key.revokedAt || !key.roles.includes('searcher')) return null;
    return { keyId: key.id, roles: key.roles, organization: key.organization, holder: key.holder };
  }

  const mine = (item: LeasedItem) => ({ jobId: item.jobId, seq: item.seq, leaseId: item.leaseId });

  async function failOutright(item: LeasedItem, code: string, message: string) {
    await repo.fail(db, { ...mine(item), code, message });
  }

  /** One item (a photo, or a video job's clip): searched and recorded, refused and recorded, or given back for a later attempt. */
  async function runItem(item: LeasedItem): Promise<void> {
    const p = await principalOf(item);
    if (!p) return failOutright(item, ITEM_ERRORS.KEY_REVOKED, 'The API key that submitted this job was revoked or no longer has the searcher role; the item was not searched.');
    if (!item.storedFile) return failOutright(item, ITEM_ERRORS.SEARCH_FAILED, 'The item has no photo.');
    let photo: Buffer;
    try {
      photo = await files.read(item.jobId, item.storedFile);
    } catch (e) {
      // Another instance's disk, or a folder removed by hand: SCREENING_JOB_DIR must be one folder every instance reads.
      return retryOrFail(item, `the photo could not be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const { purpose, caseRef, params } = { ...item.job };
    const run = item.job.kind === 'video' ? d.searches.searchVideo : d.searches.search;
    // The lease is renewed while the item is searched (a long clip outlasts SCREENING_JOB_LEASE_MS); a renewal that finds the
    // lease gone (taken over, or the job cancelled) changes nothing here: recording under it will fail and nothing is stored.
    const heartbeat = setInterval(() => void repo.renew(db, { ...mine(item), leaseMs: d.leaseMs }).catch(() => undefined), Math.max(500, Math.floor(d.leaseMs / 3)));
    try {
      await run(p, photo, { ...params, purpose, caseRef }, {
        audit: { job: { id: item.jobId, item: item.seq } },
        within: async (tx, stored) => {
          if (!(await repo.complete(tx, { ...mine(item), searchId: stored.searchId, summary: summaryOf(stored) }))) throw new LeaseLostError();
        },
        onRefused: async (tx, e) => {
          if (!(await repo.fail(tx, { ...mine(item), code: e.code, message: e.message }))) throw new LeaseLostError();
        },
      });
    } catch (e) {
      if (e instanceof LeaseLostError) {
        logger.info({ jobId: item.jobId, seq: item.seq }, 'screening item was taken over or cancelled meanwhile; its search was not stored');
        return;
      }
      // A refusal of the photo (4xx) was recorded with its search.failed event; anything else is the service's and retried.
      if (e instanceof AppError && e.status < 500) return;
      return retryOrFail(item, e instanceof AppError ? `${e.code}: ${e.message}` : 'an internal error');
    } finally {
      clearInterval(heartbeat);
    }
  }

  async function retryOrFail(item: LeasedItem, why: string) {
    if (item.attempts >= MAX_ATTEMPTS) {
      logger.warn({ jobId: item.jobId, seq: item.seq, attempts: item.attempts }, 'screening item failed on every attempt');
      return failOutright(item, ITEM_ERRORS.SEARCH_FAILED, `The search failed on each of ${item.attempts} attempts (last: ${why}).`);
    }
    logger.warn({ jobId: item.jobId, seq: item.seq, attempt: item.attempts, why }, 'screening item given back for a later attempt');
    await repo.release(db, { ...mine(item), delayMs: RETRY_DELAY_MS * item.attempts });
  }

  async function loop() {
    while (running) {
      let item: LeasedItem | null = null;
      try {
        item = await repo.claim(db, d.leaseMs);
        if (!item) {
          await nap(d.pollMs);
          continue;
        }
        await runItem(item);
        const final = await repo.waitingFiles(db, item.jobId).then((w) => !w.includes(item!.storedFile ?? ''));
        if (final && item.storedFile) await files.remove(item.jobId, item.storedFile);
        if (await repo.finishIfComplete(db, item.jobId)) await files.removeJob(item.jobId);
      } catch (e) {
        // The database went away, or similar: the lease runs out and the item is taken again.
        logger.warn({ err: e instanceof Error ? e.message : String(e), jobId: item?.jobId, seq: item?.seq }, 'screening runner pass failed');
        await nap(d.pollMs);
      }
    }
  }

  return {
    /** Starts the loops after removing photos that no waiting item needs (left by a crash between commit and removal). */
    async start(): Promise<void> {
      if (running) return;
      running = true;
      await files.sweep(async (jobId) => {
        const job = await repo.get(db, jobId).catch(() => null);
        if (!job) return null;
        return job.status === 'queued' ? repo.waitingFiles(db, jobId) : [];
      }).catch((e: unknown) => logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'screening job folder sweep failed'));
      loops = Array.from({ length: d.concurrency }, () => loop());
    },
    /** A job was submitted here: idle loops look now instead of at their next poll. */
    wake,
    /** Stops taking items and waits for those in progress (their searches commit, or roll back and are taken again later). */
    async stop(): Promise<void> {
      running = false;
      wake();
      await Promise.all(loops);
      loops = [];
    },
  };
}

export type JobWorker = ReturnType<typeof createJobWorker>;
