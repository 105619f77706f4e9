import { z } from 'zod';
import { CHECKLIST_FEATURES, CHECKLIST_VALUES } from '../domain/feature-checklist';

/** Request and response schemas shared by the routes (validation) and /openapi.json (documentation). */
export const CATEGORIES = ['fraud', 'money_laundering', 'sanctions', 'other'] as const;

const shortName = z.string().trim().min(1).max(100);
const commaList = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).max(50));

export const uuidParam = z.object({ id: z.string().uuid() });
const smallIndex = z.string().regex(/^\d{1,4}$/, 'a decimal number: 0, 1, 2 …').transform(Number);
export const probeFaceParams = z.object({ id: z.string().uuid(), faceIndex: smallIndex });
export const candidateImageParams = z.object({ id: z.string().uuid(), faceIndex: smallIndex, rank: smallIndex });
export const faceParams = z.object({ id: z.string().uuid(), faceId: z.string().uuid() });

export const subjectBody = z
  .object({
    displayName: z.string().trim().min(1).max(200),
    category: z.enum(CATEGORIES),
    watchlist: shortName.regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -'),
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
  due: z.enum(['true', 'false']).optional(),
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
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

export const enrolFields = z.object({ source: z.string().max(500).optional() });
export const enrolResult = z.object({ faceId: z.string().uuid(), subjectId: z.string().uuid(), quality, box, model: z.string() });
export const imageQuery = z.object({ variant: z.enum(['crop', 'original']).default('crop') });

export const searchFields = z.object({
  purpose: z.string().trim().min(1).max(1000),
  caseRef: z.string().trim().min(1).max(200),
  mode: z.enum(['investigative', 'screening']).default('investigative'),
  topK: z.coerce.number().int().min(1).max(50).optional(),
  minSimilarity: z.coerce.number().min(0).max(1).optional(),
  watchlists: commaList(z.string().min(1).max(100)).optional(),
  categories: commaList(z.enum(CATEGORIES)).optional(),
});

const candidate = z.object({
  rank: z.number().int(),
  subjectId: z.string().uuid(),
  displayName: z.string(),
  category: z.string(),
  watchlist: z.string(),
  faceId: z.string().uuid(),
  similarity: z.number().describe('(1 + cosine) / 2 of the embeddings; monotone in distance'),
  estimatedFalseMatchRate: z.number().describe('impostor rate at this similarity, from the model calibration table'),
  review: z.object({ state: z.string() }).passthrough().optional(),
});

const modelInfo = z.object({ id: z.string(), detector: z.string(), embedder: z.string(), version: z.string(), weightsSha256: z.string() });

export const searchResult = z.object({
  searchId: z.string().uuid(),
  createdAt: z.string(),
  mode: z.enum(['investigative', 'screening']),
  probe: z.object({ sha256: z.string(), width: z.number(), height: z.number(), facesDetected: z.number() }),
  faces: z.array(z.object({ faceIndex: z.number(), box, quality, candidates: z.array(candidate) })),
  humanReviewRequired: z.boolean(),
  reviewReasons: z.array(z.string()),
  thresholds: z.object({ screeningSimilarity: z.number(), screeningTargetFmr: z.number() }),
  model: modelInfo,
  gallery: z.object({ templates: z.number(), snapshot: z.string() }),
  audit: z.object({ seq: z.number(), hash: z.string() }),
});

export const listSearchesQuery = z.object({
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  caseRef: z.string().max(200).optional(),
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const verifyFields = z.object({
  subjectId: z.string().uuid(),
  purpose: z.string().trim().min(1).max(1000),
  caseRef: z.string().trim().min(1).max(200),
});

export const verifyResult = z.object({
  verificationId: z.string().uuid(),
  subjectId: z.string().uuid(),
  match: z.boolean(),
  similarity: z.number(),
  estimatedFalseMatchRate: z.number(),
  threshold: z.number(),
  bestFaceId: z.string().uuid(),
  humanReviewRequired: z.boolean(),
  reviewReasons: z.array(z.string()),
  model: modelInfo,
});

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

export const reportQuery = z.object({ format: z.enum(['json', 'html']).default('json') });

const window = {
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
};

export const auditEventsQuery = z.object({
  ...window,
  actor: z.string().uuid().optional().describe('key id of the actor'),
  type: z.string().max(100).optional(),
  subjectId: z.string().uuid().optional(),
  searchId: z.string().uuid().optional(),
  cursor: z.string().regex(/^\d{1,15}$/, 'pass nextCursor from a previous page').optional().describe('seq of the last event of the previous page'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const auditWindowQuery = z.object(window);
export const anchorsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

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
  ms: z.number(),
});

export const auditAnchor = z.object({ seq: z.number().int(), hash: z.string(), createdAt: z.string() });

export const statsQuery = z.object(window);
