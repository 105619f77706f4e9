import { z } from 'zod';
import type { SearchRecord } from '../infra/db/search.repo';

/**
 * The one owner of the stored search result (the `result` jsonb of a `search` row): the shape search.service writes, the
 * schema every reader parses it with, and the mappers that turn it into API responses.
 *
 * Versions: 1 is the shape written since this module exists, with `version: 1`. Rows written before carry no `version`; they
 * have the same fields (some optional ones may be missing) and read as version 1. A change of shape bumps the version and
 * teaches `readStoredResult` to read the old one.
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
  similarity: z.number(),
  estimatedFalseMatchRate: z.number(),
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
    .looseObject({ screeningSimilarity: z.number(), screeningTargetFmr: z.number(), maxFalseMatchRate: z.number().nullable().optional() })
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
  nearMissThreshold: z.number().optional(),
  bestFaceId: z.string(),
  humanReviewRequired: z.boolean(),
  reviewReasons: z.array(z.string()),
  model: model.optional(),
  audit: auditRef.optional(),
});

export type StoredSearchResult = z.output<typeof storedSearchResult>;
export type StoredVerifyResult = z.output<typeof storedVerifyResult>;

/** A stored result of either kind, parsed (version-less rows read as version 1). A row that fits neither is a bug: it throws. */
export function readStoredResult(kind: SearchRecord['kind'], raw: unknown): StoredSearchResult | StoredVerifyResult {
  return kind === 'verify' ? storedVerifyResult.parse(raw) : storedSearchResult.parse(raw);
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
export function mapStoredSearch(rec: SearchRecord) {
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
export function mapSearchListItem(rec: SearchRecord) {
  const r = rec.result as { humanReviewRequired?: unknown };
  return {
    searchId: rec.id,
    kind: rec.kind,
    createdAt: rec.createdAt,
    mode: rec.mode,
    purpose: rec.purpose,
    caseRef: rec.caseRef,
    organization: rec.organization,
    keyId: rec.keyId,
    humanReviewRequired: typeof r.humanReviewRequired === 'boolean' ? r.humanReviewRequired : null,
  };
}
