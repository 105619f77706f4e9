import { z } from 'zod';
import { CHECKLIST_FEATURES, CHECKLIST_VALUES } from '../domain/feature-checklist';
import { shownCandidate, shownFace, storedSearchResult, storedVerifyResult } from '../domain/search-result';

/** Request and response schemas shared by the routes (validation) and /openapi.json (documentation). */
export const CATEGORIES = ['fraud', 'money_laundering', 'sanctions', 'other'] as const;

const shortName = z.string().trim().min(1).max(100);
const commaList = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).max(50));

/**
 * Numbers in query strings and multipart fields: plain decimal digits only. z.coerce would also take '0x10', ' 5 ', '1e1'
 * and '' (as 0), which a client did not mean.
 */
const intText = (min: number, max: number) =>
  z.union([z.number(), z.string().regex(/^[0-9]{1,9}$/, 'a decimal integer').transform(Number)]).pipe(z.number().int().min(min).max(max));
const decimalText = (min: number, max: number) =>
  z.union([z.number(), z.string().regex(/^[0-9]{1,9}(\.[0-9]{1,12})?$/, 'a decimal number').transform(Number)]).pipe(z.number().min(min).max(max));

const INSTANT_HINT = 'expected an ISO 8601 date (2026-01-31, midnight UTC) or date-time with a zone (2026-01-31T09:30:00Z)';
/** A query instant (`from`, `to`): an ISO 8601 date or date-time with Z or an offset; parsed to a Date. */
const instant = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/, INSTANT_HINT)
  .transform((v, ctx) => {
    const [y, m, day] = v.slice(0, 10).split('-').map(Number) as [number, number, number];
    const calendar = new Date(Date.UTC(y, m - 1, day));
    const d = new Date(v);
    if (Number.isNaN(d.getTime()) || calendar.getUTCMonth() !== m - 1 || calendar.getUTCDate() !== day) {
      ctx.addIssue({ code: 'custom', message: `${INSTANT_HINT}; ${v} is not a calendar date` });
      return z.NEVER;
    }
    return d;
  })
  .meta({ description: 'ISO 8601 date (midnight UTC) or date-time with Z or an offset', examples: ['2026-01-31', '2026-01-31T09:30:00Z'] });

export const uuidParam = z.object({ id: z.string().uuid() });
const smallIndex = z.string().regex(/^\d{1,4}$/, 'a decimal number: 0, 1, 2 …').transform(Number);
export const probeFaceParams = z.object({ id: z.string().uuid(), faceIndex: smallIndex });
export const candidateImageParams = z.object({ id: z.string().uuid(), faceIndex: smallIndex, rank: smallIndex });
export const faceParams = z.object({ id: z.string().uuid(), faceId: z.string().uuid() });

export const subjectBody = z
  .object({
    displayName: z.string().trim().min(1).max(200),
    category: z.enum(CATEGORIES),
    watchlist: shortName.describe("name or id of a watchlist of the caller's organization"),
    externalRef: z.string().max(200).nullish(),
    caseRef: z.string().max(200).nullish(),
    legalBasis: z.string().trim().min(1).max(500),
    notes: z.string().max(5000).nullish(),
    reviewBy: z.iso.date().nullish(),
  })
  .strict();

export const subjectPatch = subjectBody.partial().strict();

export const subject = z.object({
  id: z.string().uuid(),
  displayName: z.string(),
  category: z.enum(CATEGORIES),
  watchlist: z.string(),
  watchlistId: z.guid(),
  externalRef: z.string().nullable(),
  caseRef: z.string().nullable(),
  legalBasis: z.string(),
  notes: z.string().nullable(),
  reviewBy: z.string().nullable(),
  organization: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  faceCount: z.number().int().optional(),
});

export const listSubjectsQuery = z.object({
  watchlist: z.string().optional(),
  category: z.enum(CATEGORIES).optional(),
  q: z.string().max(200).optional(),
  externalRef: z.string().max(200).optional().describe('exact external reference (bulk enrolment finds a subject it enrolled before by it)'),
  imageSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional()
    .describe('only subjects with a face enrolled from the photo with this SHA-256 (hex, lower case)'),
  due: z.enum(['true', 'false']).optional(),
  cursor: z.string().optional(),
  limit: intText(1, 200).default(50),
});

export const erasureReceipt = z.object({
  subjectId: z.string().uuid(),
  facesRemoved: z.number().int(),
  imagesRemoved: z.number().int(),
  erasedAt: z.string(),
  auditHash: z.string(),
});

const box = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
const quality = z.object({ score: z.number().min(0).max(1), issues: z.array(z.string()) });

/** An enrolled face as GET /v1/subjects/{id} lists it (no template, no image). */
export const faceRecord = z.object({
  id: z.string().uuid(),
  subjectId: z.string().uuid(),
  modelId: z.string(),
  quality: quality.extend({ metrics: z.record(z.string(), z.number()).optional().describe('the measurements behind the score') }),
  box,
  source: z.string().nullable(),
  imageSha256: z.string().nullable().describe('SHA-256 (hex) of the enrolment photo; null for templates enrolled before it was kept and not in the audit chain'),
  createdAt: z.string(),
});
export const subjectWithFaces = subject.extend({ faces: z.array(faceRecord) });

export const enrolFields = z.object({ source: z.string().max(500).optional() });
export const enrolResult = z.object({ faceId: z.string().uuid(), subjectId: z.string().uuid(), quality, box, model: z.string() });
export const imageQuery = z.object({ variant: z.enum(['crop', 'original']).default('crop') });

export const searchFields = z.object({
  purpose: z.string().trim().min(1).max(1000),
  caseRef: z.string().trim().min(1).max(200),
  mode: z.enum(['investigative', 'screening']).default('investigative'),
  topK: intText(1, 50).optional(),
  minSimilarity: decimalText(0, 1).optional(),
  maxFalseMatchRate: decimalText(0, 1)
    .refine((v) => v > 0, 'greater than 0')
    .optional()
    .describe(
      "a decimal in (0, 1]: candidates whose estimatedFalseMatchRate exceeds it are not returned (applied after the kNN, so a search may list fewer than topK); recorded in the stored result's thresholds and in the audit event",
    ),
  watchlists: commaList(z.string().min(1).max(100)).optional(),
  categories: commaList(z.enum(CATEGORIES)).optional(),
});

/**
 * Search and verification responses are derived from the stored-result schemas (domain/search-result.ts), so the contract
 * and what is stored cannot disagree on a field. The stored schemas are loose (a reader keeps keys an older writer stored) and
 * accept any id text; a response object is closed (every field declared) and states the id formats clients may rely on.
 */
const uuid = z.string().uuid();
const candidate = z.object(shownCandidate.shape).extend({ subjectId: uuid, watchlistId: z.guid(), faceId: uuid });
const probeFace = z.object(shownFace.shape).extend({ quality, candidates: z.array(candidate) });
const thresholds = z.object(storedSearchResult.shape.thresholds.unwrap().shape);
const modelInfo = z.object({ id: z.string(), detector: z.string(), embedder: z.string(), version: z.string(), weightsSha256: z.string() });
const probe = z.object(storedSearchResult.shape.probe.shape);

/** A 1:N search as stored; what a row written before some field existed may lack stays optional. */
const searchShape = z
  .object(storedSearchResult.shape)
  .omit({ version: true })
  .extend({ searchId: uuid, faces: z.array(probeFace), thresholds: thresholds.optional(), model: modelInfo.optional() });
/** A 1:1 verification as stored. */
const verifyShape = z
  .object(storedVerifyResult.shape)
  .omit({ version: true })
  .extend({ verificationId: uuid, subjectId: uuid, bestFaceId: uuid, probe: probe.optional(), model: modelInfo.optional() });

/** POST /v1/searches: a fresh search has every field. */
export const searchResult = searchShape.required({ thresholds: true, model: true, gallery: true, audit: true });

export const listSearchesQuery = z.object({
  from: instant.optional(),
  to: instant.optional(),
  caseRef: z.string().max(200).optional(),
  cursor: z.string().optional(),
  limit: intText(1, 200).default(50),
});

export const verifyFields = z.object({
  subjectId: z.string().uuid(),
  purpose: z.string().trim().min(1).max(1000),
  caseRef: z.string().trim().min(1).max(200),
});

/** POST /v1/verify: a fresh verification has every field. */
export const verifyResult = verifyShape.required({ targetFmr: true, nearMissThreshold: true, probe: true, model: true, audit: true });

// Oversight: reviews, audit chain, statistics (issue 6).
export const featureChecklist = z
  .partialRecord(z.enum(CHECKLIST_FEATURES), z.enum(CHECKLIST_VALUES))
  .describe('FISWG-style feature comparison: each feature similar, different or not_visible');

export const reviewBody = z
  .object({
    faceIndex: z.number().int().min(0),
    subjectId: z.string().uuid(),
    decision: z.enum(['confirmed', 'rejected', 'inconclusive']),
    rationale: z.string().trim().min(1).max(5000),
    checklist: featureChecklist.optional(),
  })
  .strict();

export const reviewRecord = z.object({
  id: z.string().uuid(),
  searchId: z.string().uuid(),
  faceIndex: z.number().int(),
  subjectId: z.string().uuid(),
  decision: z.enum(['confirmed', 'rejected', 'inconclusive']),
  rationale: z.string(),
  keyId: z.string().uuid(),
  holder: z.string().describe('holder of the reviewer key when the decision was made'),
  organization: z.string(),
  checklist: featureChecklist.nullable(),
  createdAt: z.string(),
});

export const queueQuery = z.object({
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const queueItem = z.object({
  searchId: z.string().uuid(),
  createdAt: z.string(),
  mode: z.string(),
  purpose: z.string(),
  caseRef: z.string(),
  organization: z.string(),
  faceIndex: z.number().int(),
  rank: z.number().int(),
  face: z.object({ box, quality }),
  candidate: candidate.omit({ review: true }),
});

export const reviewRecorded = reviewRecord.extend({
  candidateReview: z.object({
    state: z.enum(['pending', 'awaiting_second_confirmation', 'confirmed', 'rejected', 'inconclusive']),
    confirmations: z.number().int(),
    rejections: z.number().int(),
    inconclusive: z.number().int(),
  }),
  audit: z.object({ seq: z.number(), hash: z.string() }),
});

/** What GET /v1/searches/{id} adds to the stored result: who ran it, why, and the reviews so far (oldest first). */
const storedMeta = {
  purpose: z.string(),
  caseRef: z.string(),
  organization: z.string(),
  keyId: z.string(),
  reviews: z.array(reviewRecord),
  /** Set on the blind view a reviewer gets of candidates they have not decided yet (review-state.ts blindFor). */
  blind: z.literal(true).optional().describe("present (true) when other reviewers' decisions are withheld from this reviewer"),
};
export const storedSearch = z.union([
  searchShape.extend({ kind: z.literal('search'), ...storedMeta }),
  verifyShape.extend({ kind: z.literal('verify'), ...storedMeta }),
]);

export const searchListItem = z.object({
  searchId: z.string().uuid(),
  kind: z.enum(['search', 'verify']),
  createdAt: z.string(),
  mode: z.enum(['investigative', 'screening', 'verify']),
  purpose: z.string(),
  caseRef: z.string(),
  organization: z.string(),
  keyId: z.string(),
  humanReviewRequired: storedSearchResult.shape.humanReviewRequired,
});

export const reportQuery = z.object({ format: z.enum(['json', 'html']).default('json') });

const window = {
  from: instant.optional().describe('inclusive start: ISO 8601 date (midnight UTC) or date-time with Z or an offset'),
  to: instant.optional().describe('exclusive end: ISO 8601 date (midnight UTC) or date-time with Z or an offset'),
};

export const auditEventsQuery = z.object({
  ...window,
  actor: z.string().uuid().optional().describe('key id of the actor'),
  type: z.string().max(100).optional(),
  subjectId: z.string().uuid().optional(),
  searchId: z.string().uuid().optional(),
  cursor: z.string().regex(/^\d{1,15}$/, 'pass nextCursor from a previous page').optional().describe('seq of the last event of the previous page'),
  limit: intText(1, 1000).default(100),
});

export const auditWindowQuery = z.object(window);
export const anchorsQuery = z.object({ limit: intText(1, 1000).default(100) });

export const auditEvent = z.object({
  seq: z.number().int(),
  at: z.string(),
  actor: z.object({ keyId: z.string().nullable(), organization: z.string(), roles: z.array(z.string()) }),
  type: z.string(),
  subjectIds: z.array(z.string()),
  searchId: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

export const chainVerification = z.object({
  ok: z.boolean(),
  events: z.number().int(),
  headHash: z.string(),
  headSeq: z.number().int(),
  firstBadSeq: z.number().int().optional(),
  reason: z.string().optional(),
  anchors: z
    .object({
      checked: z.number().int(),
      mismatched: z.array(z.object({ seq: z.number().int(), anchoredHash: z.string(), chainHash: z.string().nullable() })),
    })
    .describe('every stored anchor checked against the event at its seq; any mismatch makes ok false'),
  ms: z.number(),
});

export const auditAnchor = z.object({ seq: z.number().int(), hash: z.string(), createdAt: z.string() });

export const statsQuery = z.object(window);

// Watchlists, grants, hit notices and webhooks (issue 13).
const watchlistName = shortName.regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -');
export const watchlistBody = z
  .object({
    name: watchlistName,
    description: z.string().max(2000).nullish(),
    jurisdiction: z.string().trim().min(1).max(100),
    legalBasis: z.string().trim().min(1).max(500),
    retentionDays: z.number().int().min(1).max(36500).nullish(),
  })
  .strict();
export const watchlistPatch = watchlistBody.partial().strict();

export const watchlist = z.object({
  id: z.guid(),
  name: z.string(),
  organization: z.string(),
  description: z.string().nullable(),
  jurisdiction: z.string(),
  legalBasis: z.string(),
  retentionDays: z.number().int().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  access: z.enum(['owner', 'search', 'screen']).optional(),
});

export const grantBody = z
  .object({
    organization: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -'),
    access: z.enum(['search', 'screen']),
    expiresAt: z.iso.datetime({ offset: true }).nullish(),
  })
  .strict();

export const grant = z.object({
  id: z.string().uuid(),
  watchlistId: z.guid(),
  organization: z.string(),
  access: z.enum(['search', 'screen']),
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const grantParams = z.object({ id: z.string().uuid(), grantId: z.string().uuid() });

export const notice = z.object({
  id: z.string().uuid(),
  at: z.string(),
  watchlistId: z.guid(),
  subjectId: z.string().uuid(),
  searchId: z.string().uuid(),
  searchingOrganization: z.string(),
  mode: z.string(),
  similarity: z.number(),
  estimatedFalseMatchRate: z.number(),
  purpose: z.string(),
  caseRef: z.string(),
});
export const noticesQuery = z.object({ cursor: z.string().optional(), limit: z.coerce.number().int().min(1).max(200).default(50) });

export const webhookBody = z
  .object({
    url: z.string().url().max(2000).refine((u) => /^https?:\/\//i.test(u), 'http or https URL'),
    secret: z.string().min(16).max(200),
  })
  .strict();
