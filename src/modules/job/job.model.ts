import type { SearchParams } from '../search/search.model';

/**
 * Batch screening jobs (docs/batch-screening.md): a batch of photos submitted at once with one purpose and case reference,
 * each photo an item searched in the background through the ordinary search path (audited, held to grants and the purpose
 * policy like POST /v1/searches). A job is `queued` until every item is final (`done`), or `cancelled`; the API also
 * reports `running` for a queued job whose first item was taken.
 */
export type StoredJobStatus = 'queued' | 'done' | 'cancelled';
export type JobStatus = StoredJobStatus | 'running';
export type ItemStatus = 'pending' | 'done' | 'failed' | 'cancelled';
/** `photos`: each item a photo (POST /v1/jobs); `video`: one item, a clip searched as POST /v1/searches/video does (POST /v1/jobs/video). */
export type JobKind = 'photos' | 'video';

/** The search parameters every item is searched with: POST /v1/searches's, purpose and caseRef aside (the job's). */
export type JobSearchParams = Omit<SearchParams, 'purpose' | 'caseRef' | 'federation'>;

export interface JobRecord {
  id: string;
  kind: JobKind;
  organization: string;
  keyId: string;
  purpose: string;
  caseRef: string;
  params: JobSearchParams;
  status: StoredJobStatus;
  itemsTotal: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobCounts {
  pending: number;
  /** Pending items an instance holds a live lease on (being searched now). */
  leased: number;
  done: number;
  failed: number;
  cancelled: number;
  /** Done items whose search returned at least one candidate (in screening mode: a watchlist hit). */
  withCandidates: number;
  lastFinishedAt: string | null;
}

/** What a done item's search found, without names (joined from the stored search when results are read). */
export interface ItemSummary {
  facesDetected: number;
  candidates: number;
  humanReviewRequired: boolean;
}

export interface JobItem {
  jobId: string;
  seq: number;
  clientRef: string | null;
  fileName: string | null;
  status: ItemStatus;
  attempts: number;
  searchId: string | null;
  error: { code: string; message: string } | null;
  summary: ItemSummary | null;
  finishedAt: string | null;
}

/** An item as one instance took it: its lease, its photo, and the job it belongs to. */
export interface LeasedItem {
  jobId: string;
  seq: number;
  leaseId: string;
  storedFile: string | null;
  attempts: number;
  job: Pick<JobRecord, 'kind' | 'organization' | 'keyId' | 'purpose' | 'caseRef' | 'params'>;
}

/** A new item as submitted: its photo under the job's folder, or (a bad manifest row, an unlisted file) its error. */
export interface NewItem {
  clientRef: string | null;
  fileName: string | null;
  storedFile: string | null;
  error: { code: string; message: string } | null;
}

/**
 * Codes of items that fail before any search (the search's own refusals carry the search's codes: NO_FACE,
 * UNSUPPORTED_MEDIA_TYPE, IMAGE_TOO_LARGE, IMAGE_UNPROCESSABLE, PURPOSE_NOT_ALLOWED, UNKNOWN_WATCHLIST …).
 */
export const ITEM_ERRORS = {
  /** A manifest row names a file that is not in the upload. */
  MANIFEST_FILE_MISSING: 'MANIFEST_FILE_MISSING',
  /** A manifest row that is not a valid row (bad JSON or CSV, no file, a field too long, a file named twice). */
  MANIFEST_ROW_INVALID: 'MANIFEST_ROW_INVALID',
  /** An uploaded photo no manifest row names: not searched (the manifest says what the job is). */
  NOT_IN_MANIFEST: 'NOT_IN_MANIFEST',
  /** The photo is over MAX_UPLOAD_BYTES. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The key that submitted the job was revoked, or no longer has the searcher role. */
  KEY_REVOKED: 'KEY_REVOKED',
  /** The search failed for a reason of the service (not the photo's) on every one of its attempts. */
  SEARCH_FAILED: 'SEARCH_FAILED',
} as const;
