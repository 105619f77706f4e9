import { z } from 'zod';
import { searchRequestFields } from '../search/search.model';
import { intText } from '../../platform/http/fields';

/** Request and response schemas of the screening job routes (validation and /openapi.json from one schema). */
export const jobFields = z.object(searchRequestFields.shape).omit({ partners: true });

const itemError = z.object({ code: z.string(), message: z.string() });

export const jobView = z.object({
  id: z.string().uuid(),
  kind: z.enum(['photos', 'video']).describe('photos: POST /v1/jobs, one item per photo; video: POST /v1/jobs/video, one item, the clip (its search as POST /v1/searches/video answers it)'),
  status: z.enum(['queued', 'running', 'done', 'cancelled']),
  purpose: z.string(),
  caseRef: z.string(),
  mode: z.enum(['investigative', 'screening']),
  organization: z.string(),
  keyId: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  items: z.object({
    total: z.number().int(),
    pending: z.number().int().describe('not final yet (inProgress of them being searched now)'),
    inProgress: z.number().int(),
    done: z.number().int().describe('searched: each has its own stored, audited search'),
    failed: z.number().int().describe('refused by the search (NO_FACE, UNSUPPORTED_MEDIA_TYPE …) or at submission (manifest rows, oversized photos)'),
    cancelled: z.number().int(),
    withCandidates: z.number().int().describe('done items whose search returned a candidate (in screening mode: a watchlist hit)'),
  }),
  ratePerSecond: z.number().nullable().describe('items finished per second since the first was taken (null before two are)'),
  etaSeconds: z.number().nullable().describe('seconds the pending items take at that rate; 0 once the job is final'),
});

export const jobItemView = z.object({
  seq: z.number().int().describe('1-based: manifest rows in order, then uploaded photos no row named; without a manifest, the upload order'),
  clientRef: z.string().nullable(),
  fileName: z.string().nullable(),
  status: z.enum(['pending', 'done', 'failed', 'cancelled']),
  searchId: z.string().uuid().nullable(),
  error: itemError.nullable().describe('the search\'s error code and message (API.md), or MANIFEST_FILE_MISSING, MANIFEST_ROW_INVALID, NOT_IN_MANIFEST, PAYLOAD_TOO_LARGE, KEY_REVOKED, SEARCH_FAILED'),
  summary: z.object({ facesDetected: z.number().int(), candidates: z.number().int(), humanReviewRequired: z.boolean() }).nullable(),
  finishedAt: z.string().nullable(),
  search: z.record(z.string(), z.unknown()).nullable().describe('the item\'s stored search as GET /v1/searches/{id} shows it to the caller now (names joined at read time; null when not done)'),
});

export const resultsQuery = z.object({
  cursor: z.string().regex(/^\d{1,9}$/, 'pass nextCursor from a previous page').optional(),
  limit: intText(1, 100).default(50),
  format: z.enum(['json', 'ndjson']).default('json').describe('ndjson: every item, one JSON object a line, as one download (cursor and limit do not apply)'),
});

/** POST /v1/jobs/video: the video search's fields (as POST /v1/searches/video) and the client's own reference for the clip. */
export const videoJobFields = jobFields.extend({
  clientRef: z.string().trim().min(1).max(200).optional().describe("the client's own reference for the clip (returned with the item)"),
});

export const listQuery = z.object({ limit: intText(1, 100).default(20) });
