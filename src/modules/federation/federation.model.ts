import { z } from 'zod';
import type { Queryable } from '../../shared/db';
import type { AnalyzedImage } from '../../shared/face.types';
import type { Principal } from '../../shared/principal';
import type { SearchParams, ShownSearchResult, StoredSearchResult } from '../search/search.model';
import type { Grant, GrantAccess } from '../watchlist/watchlist.model';

/**
 * Federation between deployments (docs/federation.md): partner deployments registered by the operator, grants of watchlists
 * to them, the signed channel, and federated searches.
 *
 * A partner's requests run here as organization `partner:<partner id>`: a name no API key and no ordinary grant can carry
 * (organizations are letters, digits, `.`, `_`, `-`), so the watchlist grants to that organization are exactly what the
 * partner may search, under the one access rule every search uses (expiry and revocation take effect on the next request).
 */
export const partnerOrganization = (partnerId: string) => `partner:${partnerId}`;

export interface PartnerKey {
  /** ed25519KeyId of the key: the `keyid` of its signatures. */
  keyId: string;
  publicKeyPem: string;
  validFrom: string;
  /** null: no end yet (until a newer key is added, then the configured overlap). */
  validUntil: string | null;
  createdAt: string;
}

export interface Partner {
  id: string;
  name: string;
  jurisdiction: string;
  baseUrl: string;
  caCertificate: string | null;
  createdAt: string;
  updatedAt: string;
  removedAt: string | null;
  keys: PartnerKey[];
}

export type PartnerFields = Pick<Partner, 'name' | 'jurisdiction' | 'baseUrl' | 'caCertificate'>;

/** What a grant to a partner deployment discloses besides hit / no hit, and whom the partner contacts about a hit. */
export interface GrantTerms {
  discloseNames: boolean;
  discloseCrops: boolean;
  contact: string;
}

export interface FederatedGrant extends Grant, GrantTerms {
  partnerId: string;
  partner: string;
  watchlist: string;
}

/** A partner's answer, as the requester records it. */
export const PARTNER_STATUSES = ['ok', 'refused', 'timeout', 'unreachable'] as const;
export type PartnerStatus = (typeof PARTNER_STATUSES)[number];

export type FederationMode = 'investigative' | 'screening';

/** The search service as federation uses it (search.service implements it): a search over faces analysed already. */
export interface AnalyzedSearch {
  searchAnalyzed(
    p: Principal,
    analyzed: AnalyzedImage,
    params: SearchParams,
    within?: (tx: Queryable, stored: StoredSearchResult) => Promise<void>,
  ): Promise<ShownSearchResult>;
}

/** Watchlist grants as federation writes them (watchlist.service implements it). */
export interface GrantWriter {
  grant(
    p: Principal,
    watchlistId: string,
    g: { organization: string; access: GrantAccess; expiresAt?: string | null },
    terms?: (tx: Queryable, grant: Grant) => Promise<Record<string, unknown>>,
    opts?: { acceptedOnCreate?: boolean },
  ): Promise<Grant>;
  revoke(p: Principal, watchlistId: string, grantId: string): Promise<Grant>;
}

/**
 * The messages between deployments (docs/federation.md, "Messages"), and what a federated search answers its caller. Shapes
 * crossing deployments are closed (strict): a partner that sends anything else is answered 400, and an answer with anything
 * else is that partner's `refused` (ANSWER_MALFORMED).
 */
const base64 = (max: number) => z.string().min(4).max(max).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64');
/** A face chip (the sender's reviewer crop, JPEG): 512 KiB at most once decoded. */
export const MAX_CHIP_BASE64 = Math.ceil((512 * 1024) / 3) * 4;
export const MAX_FACES_PER_REQUEST = 20;

export const incomingSearch = z
  .object({
    requestId: z.string().uuid(),
    mode: z.enum(['investigative', 'screening']),
    purpose: z.string().trim().min(1).max(1000),
    caseRef: z.string().trim().min(1).max(200),
    requester: z.object({ organization: z.string().trim().min(1).max(100), holder: z.string().trim().min(1).max(200) }).strict(),
    topK: z.number().int().min(1).max(50),
    minSimilarity: z.number().min(0).max(1).optional(),
    watchlists: z.array(z.string().uuid()).min(1).max(50).optional().describe('ids of watchlists granted to the requester (see the catalog); one not granted answers as one that does not exist'),
    faces: z.array(z.object({ faceIndex: z.number().int().min(0).max(99), chip: base64(MAX_CHIP_BASE64) }).strict()).min(1).max(MAX_FACES_PER_REQUEST),
  })
  .strict();
export type IncomingSearch = z.infer<typeof incomingSearch>;

export const answerCandidate = z
  .object({
    rank: z.number().int().min(1),
    reference: z.string().min(1).max(200).describe('quote it to the contact: the answering deployment resolves it to its subject'),
    contact: z.string().max(1000).describe('whom to contact about this hit, as the data owner wrote it in the grant'),
    similarity: z.number().min(0).max(1).optional().describe('investigative answers only, by the partner\'s own model'),
    estimatedFalseMatchRate: z.number().min(0).max(1).optional().describe("investigative answers only, from the partner's own calibration"),
    displayName: z.string().max(500).nullable().optional().describe('only where the grant discloses names'),
    watchlist: z.string().max(200).optional().describe('only where the grant discloses names'),
    category: z.string().max(100).optional().describe('only where the grant discloses names'),
    faceCrop: base64(4 * 1024 * 1024).optional().describe('the enrolled face crop (JPEG, base64), only where the grant discloses crops'),
  })
  .strict();

export const searchAnswer = z
  .object({
    requestId: z.string().uuid(),
    answeredAt: z.string(),
    mode: z.enum(['investigative', 'screening']),
    model: z.object({ id: z.string().max(200), version: z.string().max(100) }).strict(),
    thresholds: z.object({ screeningSimilarity: z.number(), screeningTargetFmr: z.number() }).strict(),
    faces: z
      .array(
        z
          .object({
            faceIndex: z.number().int().min(0),
            hit: z.boolean().describe('a candidate at or above the answering deployment\'s screening threshold'),
            quality: z.object({ score: z.number(), issues: z.array(z.string().max(50)).max(20) }).strict(),
            candidates: z.array(answerCandidate).max(50),
          })
          .strict(),
      )
      .max(MAX_FACES_PER_REQUEST),
  })
  .strict();
export type SearchAnswer = z.infer<typeof searchAnswer>;

export const catalogAnswer = z
  .object({
    grants: z
      .array(
        z
          .object({
            watchlistId: z.string().uuid(),
            access: z.enum(['search', 'screen']),
            expiresAt: z.string().nullable(),
            contact: z.string(),
            watchlist: z.string().optional().describe('only where the grant discloses names'),
          })
          .strict(),
      )
      .max(1000),
  })
  .strict();

export const errorAnswer = z.object({ error: z.object({ code: z.string().max(100), message: z.string().max(2000) }).loose(), requestId: z.string().nullable() }).loose();

/** One partner's part of a federated search, as its caller sees it (and as stored in federation_request). */
export const partnerResult = z.object({
  partnerId: z.string().uuid(),
  name: z.string(),
  jurisdiction: z.string(),
  status: z.enum(PARTNER_STATUSES),
  reason: z
    .string()
    .optional()
    .describe(
      "why it is not ok: the partner's error code when it refused (FEDERATION_UNKNOWN_KEY, UNKNOWN_WATCHLIST …), or this side's: ANSWER_SIGNATURE_INVALID, ANSWER_MALFORMED, ANSWER_TOO_LARGE (refused), PARTNER_ERROR (a 5xx), CONNECT_FAILED, TLS_FAILED, DESTINATION_REFUSED (unreachable), DEADLINE (timeout)",
    ),
  elapsedMs: z.number(),
  answer: searchAnswer.optional().describe('present when status is ok'),
});
export type PartnerResult = z.infer<typeof partnerResult>;

export const federationPart = z.object({
  requestId: z.string().uuid().describe('the federation request id: both deployments record it in their audit chains'),
  deadlineMs: z.number().describe('each partner had this long to answer'),
  partners: z.array(partnerResult),
});
