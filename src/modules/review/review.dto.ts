import { z } from 'zod';
import { QUEUE_SORTS, QUEUE_STATES, REVIEW_DECISIONS, REVIEW_STATES, featureChecklistShape, reviewRecordShape } from './review.model';
import { responseCandidate } from '../search/search.model';
import { boxShape, qualityShape } from '../../platform/http/fields';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
export const reviewBody = z
  .object({
    faceIndex: z.number().int().min(0),
    subjectId: z.string().uuid(),
    decision: z.enum(['confirmed', 'rejected', 'inconclusive']),
    rationale: z.string().trim().min(1).max(5000),
    checklist: featureChecklistShape.optional(),
  })
  .strict();

export const queueQuery = z.object({
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** The search a queued candidate belongs to: when, how, why, for which case, by which organization. */
const queuedSearch = {
  searchId: z.string().uuid(),
  createdAt: z.string(),
  mode: z.string(),
  purpose: z.string(),
  caseRef: z.string(),
  organization: z.string(),
};

export const queueItem = z.object({
  ...queuedSearch,
  faceIndex: z.number().int(),
  rank: z.number().int(),
  face: z.object({ box: boxShape, quality: qualityShape }),
  candidate: responseCandidate.omit({ review: true }),
});

export const queueSearchesQuery = z.object({
  sort: z.enum(QUEUE_SORTS).default('oldest').describe('oldest: oldest waiting search first; newest; strongest: the search with the lowest-FMR candidate first'),
  state: z
    .enum(QUEUE_STATES)
    .default('undecided')
    .describe("undecided: awaiting the caller's decision; disputed: those on which reviewers disagree; decided: those the caller decided"),
  caseRef: z.string().trim().min(1).max(200).optional(),
  watchlistId: z.string().uuid().optional(),
  organization: z.string().trim().min(1).max(100).optional().describe("the searching organization (reviewers of *; others see their own organization's only)"),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('searches per page'),
});

export const queueCandidate = responseCandidate.omit({ review: true }).extend({
  review: z
    .union([
      z.object({ state: z.enum(REVIEW_STATES), confirmations: z.number().int(), rejections: z.number().int() }),
      z.object({ state: z.enum(['blind', 'disputed']) }),
    ])
    .describe("on a candidate the caller has not decided: blind (nobody's decision shown), or disputed (reviewers disagree; not who or how many); once decided: the state and counts"),
  ownDecision: z.enum(REVIEW_DECISIONS).nullable().describe("the caller's own decision (any of their holder's keys)"),
});

export const queueSearch = z.object({
  ...queuedSearch,
  faces: z.array(z.object({ faceIndex: z.number().int(), quality: qualityShape, candidates: z.array(queueCandidate) })),
});

export const reviewRecorded = reviewRecordShape.extend({
  candidateReview: z.object({
    state: z.enum(REVIEW_STATES),
    confirmations: z.number().int(),
    rejections: z.number().int(),
    inconclusive: z.number().int(),
  }),
  audit: z.object({ seq: z.number(), hash: z.string() }),
});
