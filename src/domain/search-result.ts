import { z } from 'zod';
import type { ReviewRecord } from '../infra/db/review.repo';
import type { SearchRecord } from '../infra/db/search.repo';
import { REVIEW_STATES } from './review-state';

/**
 * The one owner of the stored search result (the `result` jsonb of a `search` row): the shape search.service writes, the
 * schema every reader parses it with, and the mappers that turn it into API responses.
 *
 * Versions: 1 is the shape written since this module exists, with `version: 1`. Rows written before carry no `version`; they
 * have the same fields (some optional ones may be missing) and read as version 1. A change of shape bumps the version and
 * teaches `readStoredResult` to read the old one. SQL that reads inside a result (statistics, the review queue) takes its jsonb
 * paths from infra/db/stored-result.sql.ts, whose keys are checked against these schemas: change a field here, change it there.
 */
export const STORED_RESULT_VERSION = 1 as const;

const version = z.literal(STORED_RESULT_VERSION).default(STORED_RESULT_VERSION);
const box = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
const probe = z.object({ sha256: z.string(), width: z.number(), height: z.number(), facesDetected: z.number() });
const auditRef = z.object({ seq: z.number(), hash: z.string() });
const model = z.looseObject({ id: z.string() });

/** A candidate as stored: ids only; names are joined when read (an erased subject leaves no name behind). */
export const storedCandidate = z.looseObject({
  rank: z.number().int(),
  subjectId: z.string(),
  category: z.string(),
  watchlistId: z.string(),
  faceId: z.string(),
  similarity: z.number().describe('(1 + cosine) / 2 of the embeddings; monotone in distance'),
  estimatedFalseMatchRate: z.number().describe('impostor rate at this similarity, from the model calibration table'),
});

export const storedFace = z.looseObject({
  faceIndex: z.number().int(),
  box,
  quality: z.looseObject({ score: z.number(), issues: z.array(z.string()) }),
  candidates: z.array(storedCandidate),
});

/** kind `search`: a 1:N search. Unknown keys are kept (loose), so a reader never drops what an older writer stored. */
export const storedSearchResult = z.looseObject({
  version,
  searchId: z.string(),
  createdAt: z.string(),
  mode: z.enum(['investigative', 'screening']),
  probe,
  faces: z.array(storedFace),
  humanReviewRequired: z.boolean(),
  reviewReasons: z.array(z.string()),
  thresholds: z
    .looseObject({
      screeningSimilarity: z.number(),
      screeningTargetFmr: z.number(),
      maxFalseMatchRate: z
        .number()
        .nullable()
        .optional()
        .describe("the caller's cap on estimatedFalseMatchRate (null: none; absent on searches stored before the cap existed)"),
    })
    .optional(),
  model: model.optional(),
  gallery: z.object({ templates: z.number(), snapshot: z.string() }).optional(),
  audit: auditRef.optional(),
});

/** kind `verify`: a 1:1 verification. */
export const storedVerifyResult = z.looseObject({
  version,
  verificationId: z.string(),
  createdAt: z.string(),
  subjectId: z.string(),
  match: z.boolean(),
  similarity: z.number(),
  estimatedFalseMatchRate: z.number(),
  threshold: z.number(),
  targetFmr: z.number().optional().describe('VERIFY_TARGET_FMR the threshold was derived from'),
  nearMissThreshold: z
    .number()
    .optional()
    .describe(
      'lower edge of the near-miss band: the similarity whose calibrated false-match rate is VERIFY_NEAR_MISS_FACTOR × targetFmr. A score in [nearMissThreshold, threshold) is no match but is flagged NEAR_MISS (absent on verifications stored before the band existed)',
    ),
  bestFaceId: z.string(),
  probe: probe.optional(),
  humanReviewRequired: z.boolean().describe('true when reviewReasons is not empty'),
  reviewReasons: z
    .array(z.string())
    .describe('CANDIDATES_ARE_LEADS_ONLY (a match is a lead), NEAR_MISS (just below the threshold, within the near-miss band), LOW_PROBE_QUALITY, MULTIPLE_PROBE_FACES'),
  model: model.optional(),
  audit: auditRef.optional(),
});

export type StoredSearchResult = z.output<typeof storedSearchResult>;
export type StoredVerifyResult = z.output<typeof storedVerifyResult>;
export type StoredFace = z.output<typeof storedFace>;
export type StoredCandidate = z.output<typeof storedCandidate>;

/** A stored result of either kind, parsed (version-less rows read as version 1). A row that fits neither is a bug: it throws. */
export function readStoredResult(kind: SearchRecord['kind'], raw: unknown): StoredSearchResult | StoredVerifyResult {
  return kind === 'verify' ? storedVerifyResult.parse(raw) : storedSearchResult.parse(raw);
}

/**
 * What a reader gets of a stored search (search.service `get`): each candidate with its current names joined (an erased subject
 * has none, `erased: true`) and, once reviews are attached (review-state.ts), its review summary — or `blind` for a reviewer who
 * has not decided it yet — plus the search's reviews. Nothing here is stored: these schemas type the read side and are the
 * base the response schemas (http/schemas.ts) are derived from.
 */
export const candidateReview = z.union([
  z.object({ state: z.enum(REVIEW_STATES), confirmations: z.number().int(), rejections: z.number().int() }),
  z.object({ state: z.literal('blind') }),
]);
export const shownCandidate = storedCandidate.extend({
  displayName: z.string().nullable().describe('the current name, joined when read; null once the subject is erased'),
  watchlist: z.string().nullable(),
  erased: z.boolean().optional(),
  review: candidateReview.optional(),
});
export const shownFace = storedFace.extend({ candidates: z.array(shownCandidate) });
/** The decisions recorded on a search (review.repo ReviewRecord); typed here, declared for clients in http/schemas.ts. */
const reviews = z.array(z.custom<ReviewRecord>()).optional();
const blind = z.literal(true).optional();
export const shownSearchResult = storedSearchResult.extend({ faces: z.array(shownFace), reviews, blind });
export const shownVerifyResult = storedVerifyResult.extend({ reviews, blind });

export type ShownCandidate = z.output<typeof shownCandidate>;
export type ShownFace = z.output<typeof shownFace>;
export type ShownSearchResult = z.output<typeof shownSearchResult>;
export type ShownVerifyResult = z.output<typeof shownVerifyResult>;
type RecordMeta = Omit<SearchRecord, 'kind' | 'result'>;
/** A stored record as read, its result typed by its kind. */
export type StoredRecord = RecordMeta & ({ kind: 'search'; result: StoredSearchResult } | { kind: 'verify'; result: StoredVerifyResult });
/** A stored record as shown to a reader (names joined; review state attached when the service has reviews). */
export type ShownRecord = RecordMeta & ({ kind: 'search'; result: ShownSearchResult } | { kind: 'verify'; result: ShownVerifyResult });

/** A stored candidate with its subject's current names; an erased subject has none left (`erased: true`). */
export function withNames<C extends StoredCandidate>(c: C, n: { displayName: string; watchlist: string } | undefined): C & Pick<ShownCandidate, 'displayName' | 'watchlist' | 'erased'> {
  return n ? { ...c, displayName: n.displayName, watchlist: n.watchlist } : { ...c, displayName: null, watchlist: null, erased: true };
}

/** A search row with its result parsed by the schema of its kind. */
export function readStoredRecord(rec: SearchRecord): StoredRecord {
  return rec.kind === 'verify' ? { ...rec, kind: 'verify', result: storedVerifyResult.parse(rec.result) } : { ...rec, kind: 'search', result: storedSearchResult.parse(rec.result) };
}

/** The probe faces of a stored record with their candidates; a verification has none. */
export function storedFaces(rec: Pick<SearchRecord, 'kind' | 'result'>): Array<z.output<typeof storedFace>> {
  return rec.kind === 'search' ? storedSearchResult.parse(rec.result).faces : [];
}

/** The stored version stays in storage: responses describe the API's shape, not the row's. */
const withoutVersion = <T extends Record<string, unknown>>(r: T): Omit<T, 'version'> => {
  const { version: _stored, ...rest } = r;
  return rest;
};

/** POST /v1/searches and POST /v1/verify: the result as the caller receives it (names already joined by the service). */
export function mapSearchResult<T extends Record<string, unknown>>(result: T): Omit<T, 'version'> {
  return withoutVersion(result);
}

/** GET /v1/searches/{id}: the stored result (names and review state joined) with who ran it and why. */
export function mapStoredSearch(rec: ShownRecord) {
  return {
    ...withoutVersion(rec.result),
    kind: rec.kind,
    purpose: rec.purpose,
    caseRef: rec.caseRef,
    organization: rec.organization,
    keyId: rec.keyId,
  };
}

/** One item of GET /v1/searches. */
export function mapSearchListItem(row: SearchRecord) {
  const rec = readStoredRecord(row);
  return {
    searchId: rec.id,
    kind: rec.kind,
    createdAt: rec.createdAt,
    mode: rec.mode,
    purpose: rec.purpose,
    caseRef: rec.caseRef,
    organization: rec.organization,
    keyId: rec.keyId,
    humanReviewRequired: rec.result.humanReviewRequired,
  };
}
