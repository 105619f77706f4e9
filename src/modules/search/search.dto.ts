import { z } from 'zod';
import { reviewRecordShape } from '../review/review.model';
import { responseCandidate, searchRequestFields, shownFace, storedSearchResult, storedVerifyResult, uuidText } from './search.model';
import { federationPart } from '../federation/federation.model';
import { instant, intText, qualityShape, smallIndex } from '../../platform/http/fields';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
export const probeFaceParams = z.object({ id: z.string().uuid(), faceIndex: smallIndex });

export const candidateImageParams = z.object({ id: z.string().uuid(), faceIndex: smallIndex, rank: smallIndex });

/** POST /v1/searches's form fields (search.model.ts: the screening job routes take them too). */
export const searchFields = searchRequestFields;

const thresholds = z.object(storedSearchResult.shape.thresholds.unwrap().shape);

const modelInfo = z.object({ id: z.string(), detector: z.string(), embedder: z.string(), version: z.string(), weightsSha256: z.string() });

const probe = z.object(storedSearchResult.shape.probe.shape);

const probeFace = z.object(shownFace.shape).extend({ quality: qualityShape, candidates: z.array(responseCandidate) });

/** A 1:N search as stored; what a row written before some field existed may lack stays optional. */
const searchShape = z
  .object(storedSearchResult.shape)
  .omit({ version: true })
  .extend({ searchId: uuidText, faces: z.array(probeFace), thresholds: thresholds.optional(), model: modelInfo.optional() });

/** A 1:1 verification as stored. */
const verifyShape = z
  .object(storedVerifyResult.shape)
  .omit({ version: true })
  .extend({ verificationId: uuidText, subjectId: uuidText, bestFaceId: uuidText, probe: probe.optional(), model: modelInfo.optional() });

/** POST /v1/searches: a fresh search has every field; `federation` when it named partners. */
export const searchResult = searchShape
  .required({ thresholds: true, model: true, gallery: true, audit: true })
  .extend({ federation: federationPart.optional().describe('present when the search named partners: their answers, apart from the local candidates in `faces`') });

/** POST /v1/searches/video: the fields of a still search, without partners (federation sends chips of stills only). */
export const videoSearchFields = searchFields.omit({ partners: true });

const trackFace = probeFace.required({ track: true });

/** POST /v1/searches/video: one probe face per face track, each with its time range; `video` describes the clip. */
export const videoSearchResult = searchShape
  .required({ thresholds: true, model: true, gallery: true, audit: true, video: true })
  .extend({ faces: z.array(trackFace) });

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

/** What GET /v1/searches/{id} adds to the stored result: who ran it, why, and the reviews so far (oldest first). */
const storedMeta = {
  purpose: z.string(),
  caseRef: z.string(),
  organization: z.string(),
  keyId: z.string(),
  reviews: z.array(reviewRecordShape),
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
