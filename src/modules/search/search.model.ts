import { z } from 'zod';
import { DETECTION_DETAILS, type DetectionDetail } from '../../shared/face.types';
import { CATEGORIES } from '../gallery/gallery.model';
import { commaList, decimalText, intText } from '../../platform/http/fields';
import type { Queryable } from '../../shared/db';
import type { SearchMode } from './matching-policy';
import type { Principal } from '../../shared/principal';
import { REVIEW_STATES, type ReviewRecord } from '../review/review.model';
import type { Disclosure } from '../watchlist/watchlist.model';

/**
 * The one owner of the stored search result (the `result` jsonb of a `search` row): the shape search.service writes, the
 * schema every reader parses it with, and the mappers that turn it into API responses.
 *
 * Versions: 1 is the shape written since this module exists, with `version: 1`. Rows written before carry no `version`; they
 * have the same fields (some optional ones may be missing) and read as version 1. A change of shape bumps the version and
 * teaches `readStoredResult` to read the old one. SQL that reads inside a result (statistics, the review queue) takes its jsonb
 * paths from the SQL fragments at the end of this file, whose keys are checked against these schemas.
 */
export const STORED_RESULT_VERSION = 1 as const;

const version = z.literal(STORED_RESULT_VERSION).default(STORED_RESULT_VERSION);
const box = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
const probe = z.object({
  sha256: z.string(),
  width: z.number(),
  height: z.number(),
  facesDetected: z.number(),
  detail: z.enum(DETECTION_DETAILS).optional().describe('the detection asked for (the request field detail); absent on searches stored before it existed'),
});
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
  qualityOverruled: z
    .literal(true)
    .optional()
    .describe("present when the matched template was enrolled below ENROL_MIN_QUALITY on the enroller's acceptQuality=true (its rate is not adjusted: the calibration has no per-quality data)"),
});

export const storedFace = z.looseObject({
  faceIndex: z.number().int(),
  box,
  quality: z.looseObject({ score: z.number(), issues: z.array(z.string()) }),
  track: z
    .object({
      startSeconds: z.number().describe('offset of the first sampled frame of the track from the start of the clip'),
      endSeconds: z.number().describe('offset where the track ends (its last sampled frame plus one sampling interval)'),
      frames: z.number().int().describe('sampled frames the face was tracked in'),
      bestFrameSeconds: z.number().describe('offset of the frame whose face (best quality of the track) was searched; its chip is the probe-face image'),
    })
    .optional()
    .describe('video searches only: the face track this probe face is the best face of (box and quality are that face\'s, in the video\'s pixel space)'),
  candidates: z.array(storedCandidate),
});

/** What a video search records of its clip (the clip itself is never kept: probe.sha256 is its hash). */
export const storedVideo = z.object({
  container: z.string().describe("ffprobe's format names"),
  codec: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  durationSeconds: z.number().nullable().describe('as the container states it; null when it states none'),
  sampleFps: z.number().describe('VIDEO_SAMPLE_FPS: fixed samples per second of video'),
  framesSampled: z.number().int().describe('fixed samples and scene-change samples together'),
  sceneFrames: z.number().int().optional().describe('of framesSampled, those sampled at a scene change (VIDEO_SCENE_THRESHOLD, at most VIDEO_SCENE_MAX_FRAMES); absent in results stored before scene sampling'),
  facesDetected: z.number().int().describe('faces detected over all sampled frames'),
  tracks: z.number().int().describe('face tracks (one probe face each)'),
});

/**
 * What a reverse screening on enrolment records (issue 22 #3, docs/sharing.md): the search is the receiving organization's, over
 * its customers watchlist; its probe is the owner's newly enrolled template, named here by ids (no photo, no crop, no name).
 */
export const storedReverse = z.object({
  grantId: z.string().uuid(),
  probe: z.object({ organization: z.string(), watchlistId: z.string(), subjectId: z.string(), faceId: z.string() }),
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
  video: storedVideo.optional().describe('video searches only (POST /v1/searches/video): the clip, its sampling and its tracks'),
  reverse: storedReverse
    .optional()
    .describe("reverse screenings only: the grant, and the owner's enrolled template that was the probe (the search's candidates are the organization's own customers)"),
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
 * base the response schemas (platform/http/schemas.ts) are derived from.
 */
export const candidateReview = z.union([
  z.object({ state: z.enum(REVIEW_STATES), confirmations: z.number().int(), rejections: z.number().int() }),
  z.object({ state: z.literal('blind') }),
]);
const WITHHELD = 'absent when `withheld` is set';
export const shownCandidate = storedCandidate.extend({
  category: storedCandidate.shape.category.optional().describe(WITHHELD),
  faceId: storedCandidate.shape.faceId.optional().describe(WITHHELD),
  similarity: storedCandidate.shape.similarity.optional().describe(`(1 + cosine) / 2 of the embeddings; monotone in distance (${WITHHELD})`),
  estimatedFalseMatchRate: storedCandidate.shape.estimatedFalseMatchRate.optional().describe(`impostor rate at this similarity, from the model calibration table (${WITHHELD})`),
  displayName: z.string().nullable().describe('the current name, joined when read; null once the subject is erased or when withheld'),
  watchlist: z.string().nullable(),
  erased: z.boolean().optional(),
  withheld: z
    .enum(['screen', 'no_access'])
    .optional()
    .describe(
      "set when the reader may not see this candidate's details now: screen (the caller's organization holds a screen grant on its watchlist: a hit, with the owner's reference subjectId and watchlistId, nothing else) or no_access (no live grant any more: revoked or expired). Names, scores and the crop are withheld; the crop route answers 404",
    ),
  review: candidateReview.optional(),
});
export const shownFace = storedFace.extend({ candidates: z.array(shownCandidate) });
/** The decisions recorded on a search (review.repo ReviewRecord); typed here, declared for clients in platform/http/schemas.ts. */
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

/**
 * A stored candidate as this reader is shown it, joined now: with `full` disclosure its subject's current names (an erased
 * subject has none left, `erased: true`); otherwise only the hit and the owner's reference (rank, subjectId, watchlistId) with
 * `withheld` saying why (watchlist.model Disclosure).
 */
export function withNames(c: StoredCandidate, n: { displayName: string; watchlist: string } | undefined, disclosure: Disclosure = 'full'): ShownCandidate {
  if (disclosure !== 'full') {
    return { rank: c.rank, subjectId: c.subjectId, watchlistId: c.watchlistId, displayName: null, watchlist: null, withheld: disclosure === 'screen' ? 'screen' : 'no_access' };
  }
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

/**
 * The jsonb paths SQL reads in a stored search result (`search.result`, shape owned by this file): the only
 * place they are written. Each key is checked against the schema's shape, by type and when this module loads, so a renamed
 * or removed field fails the build instead of silently reading null. Rows without a `version` have the same paths (version 1).
 *
 * Fragments use fixed aliases: `s` the search row, `f` one probe face, `c` one candidate of it.
 */
const key = <S extends { shape: Record<string, unknown> }>(schema: S, k: Extract<keyof S['shape'], string>): string => {
  if (!(k in schema.shape)) throw new Error(`stored search result has no field ${k}`);
  return k;
};

const FACES = key(storedSearchResult, 'faces');
const CANDIDATES = key(storedFace, 'candidates');

/** After `FROM search s`: one row per candidate of a 1:N search, `f` its probe face and `c` the candidate (both jsonb). */
export const CANDIDATE_ROWS = `CROSS JOIN LATERAL jsonb_array_elements(COALESCE(s.result->'${FACES}', '[]'::jsonb)) f
      CROSS JOIN LATERAL jsonb_array_elements(COALESCE(f->'${CANDIDATES}', '[]'::jsonb)) c`;

/** Of `f`: the probe face's index (int). */
export const FACE_INDEX = `(f->>'${key(storedFace, 'faceIndex')}')::int`;
/** Of `f`: its box and quality, as one jsonb object. */
export const FACE_BOX_QUALITY = `jsonb_build_object('box', f->'${key(storedFace, 'box')}', 'quality', f->'${key(storedFace, 'quality')}')`;
/** Of `c`: the candidate's subject, watchlist (uuid) and rank (int). */
export const SUBJECT_ID = `(c->>'${key(storedCandidate, 'subjectId')}')::uuid`;
export const WATCHLIST_ID = `(c->>'${key(storedCandidate, 'watchlistId')}')::uuid`;
export const RANK = `(c->>'${key(storedCandidate, 'rank')}')::int`;
/** Of `c`: the candidate's calibrated false-match rate (float8). */
export const FALSE_MATCH_RATE = `(c->>'${key(storedCandidate, 'estimatedFalseMatchRate')}')::float8`;

/** Of `s`: whether the search needed human review (boolean), and whether any of its faces has a candidate. */
export const HUMAN_REVIEW_REQUIRED = `(s.result->>'${key(storedSearchResult, 'humanReviewRequired')}')::boolean`;
export const HAS_CANDIDATES = `jsonb_path_exists(s.result, '$.${FACES}[*].${CANDIDATES}[*]')`;

/**
 * Who asked when a partner deployment's request ran a search here (federation module): the federation request id both
 * deployments record, the partner (as registered here) and the person and organization it names on its side.
 */
export interface FederationContext {
  requestId: string;
  partnerId: string;
  partner: string;
  jurisdiction: string;
  organization: string;
  holder: string;
}

export interface SearchParams {
  purpose: string;
  caseRef: string;
  mode: SearchMode;
  topK: number;
  minSimilarity?: number;
  /** Caller's cap on a candidate's calibrated false-match rate (matching-policy keepCandidates). */
  maxFalseMatchRate?: number;
  watchlists?: string[];
  categories?: string[];
  /** How hard detection looks (AnalyzeOptions.detail; default standard). */
  detail?: DetectionDetail;
  /**
   * Set when a partner deployment asked (federation module): who asked, for which federation request. Recorded with the
   * search, in its audit event and in the hit notices it causes.
   */
  federation?: FederationContext;
}

/**
 * A search that also asks partner deployments (federation module implements it): the local result as POST /v1/searches
 * answers it, plus `federation` (the federation request id and each partner's status and answer).
 */
export interface FederatedSearch {
  search(p: Principal, image: Buffer, params: SearchParams, partners: string[]): Promise<ShownSearchResult & { federation: unknown }>;
}

export interface SearchRecord {
  id: string;
  kind: 'search' | 'verify';
  organization: string;
  keyId: string;
  mode: string;
  purpose: string;
  caseRef: string;
  probeSha256: string;
  modelId: string;
  params: Record<string, unknown>;
  result: Record<string, unknown>;
  createdAt: string;
}

export interface SearchFilter {
  /** null = every organization (auditors and `*` keys). */
  organization: string | null;
  keyId?: string;
  from?: Date;
  to?: Date;
  caseRef?: string;
  kind?: 'search' | 'verify';
  after?: { createdAt: string; id: string };
  limit: number;
}

/** Stored search rows as other modules read them (search.repo.ts implements it): `forUpdate` locks the row. */
export interface SearchStore {
  get(db: Queryable, id: string, opts?: { forUpdate?: boolean }): Promise<SearchRecord | null>;
}

/** A stored search as the caller may see it, names and review state joined (search.service.ts `get` implements it). */
export interface SearchReader {
  get(p: Principal, id: string): Promise<ShownRecord>;
}

/**
 * What a caller adds to one search (the screening job runner): `audit` goes into the search's audit event (search.run, or
 * search.failed when refused); `within` runs in the search's transaction after its event, `onRefused` in the transaction of a
 * refused attempt's search.failed event (the refusal as `{code, message, details}`). Either may throw to roll its transaction
 * back: then nothing of the search or refusal is stored.
 */
export interface SearchHooks {
  audit?: Record<string, unknown>;
  within?: (tx: Queryable, stored: StoredSearchResult) => Promise<void>;
  onRefused?: (tx: Queryable, refusal: { code: string; message: string; details?: unknown }) => Promise<void>;
}

/**
 * What a screening job needs of the search module (search.service.ts implements it): the search of POST /v1/searches, and for
 * a video job that of POST /v1/searches/video with the probe that refuses a bad clip at submission.
 */
export interface SearchRunner extends SearchReader {
  search(p: Principal, image: Buffer, params: SearchParams, hooks?: SearchHooks): Promise<ShownSearchResult>;
  searchVideo(p: Principal, video: Buffer, params: SearchParams, hooks?: SearchHooks): Promise<ShownSearchResult>;
  /** Throws 501 DECODER_UNAVAILABLE without a decoder. */
  requireVideo(): void;
  probeVideo(video: Buffer): Promise<unknown>;
  /** The purpose policy and named watchlists checked as a search checks them, with no photo (throws the search's errors). */
  precheck(p: Principal, params: SearchParams): Promise<void>;
}

/**
 * A candidate as responses declare it: the stored schemas are loose (a reader keeps keys an older writer stored) and accept any
 * id text; a response object is closed (every field declared) and states the id formats clients may rely on.
 */
export const uuidText = z.string().uuid();

export const responseCandidate = z.object(shownCandidate.shape).extend({ subjectId: uuidText, watchlistId: z.guid(), faceId: uuidText.optional().describe(shownCandidate.shape.faceId.description ?? '') });

/**
 * The form fields of a search request (POST /v1/searches; each item of a screening job is searched with them): the one schema
 * both routes validate with.
 */
export const searchRequestFields = z.object({
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
  detail: z
    .enum(DETECTION_DETAILS)
    .default('standard')
    .describe(
      "how hard face detection looks. `standard`: the whole photo first; finer tiled passes only where it found no face or saw hints of faces too small for it (every face of an ordinary portrait or group photo). `small-faces`: every finer pass over the whole photo, for faces down to FACE_MIN_FACE_PX pixels (crowds, CCTV stills, a face in the background); slower on large photos. Stored in the result's probe.detail and in the audit event",
    ),
  partners: commaList(z.string().min(1).max(100))
    .optional()
    .describe(
      'partner deployments to ask as well (names or ids as registered here, or `all`): the probe\'s face chips (never the photo) go to each, which searches what its owners granted this deployment; the answer adds `federation` with each partner\'s status and answer (docs/federation.md)',
    ),
});
