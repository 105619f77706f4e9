import { z } from 'zod';
import { shortName, isoDateTime } from '../../platform/http/fields';
import { catalogAnswer, partnerResult, PARTNER_STATUSES } from './federation.model';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
const publicKeyInput = z
  .union([
    z.string().trim().min(40).max(2000),
    z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().min(40).max(50), kid: z.string().optional() }),
  ])
  .describe("the partner deployment's Ed25519 public key, exchanged out of band: SPKI PEM, an OKP JWK, or base64url of the raw 32 bytes (its /.well-known/facematch-federation shows all three)");

const pem = z.string().trim().max(20_000).regex(/-----BEGIN CERTIFICATE-----/, 'a PEM certificate');

export const partnerBody = z
  .object({
    name: shortName,
    jurisdiction: z.string().trim().min(1).max(100),
    baseUrl: z.string().url().max(2000).describe('where the partner deployment answers (https; its FEDERATION_PUBLIC_URL)'),
    publicKey: publicKeyInput,
    caCertificate: pem.nullish().describe("PEM of the CA that issued the partner's TLS certificate (absent: the system's trust store)"),
  })
  .strict();

export const partnerPatch = z
  .object({ name: shortName, jurisdiction: z.string().trim().min(1).max(100), baseUrl: z.string().url().max(2000), caCertificate: pem.nullable() })
  .partial()
  .strict();

export const partnerKeyBody = z
  .object({
    publicKey: publicKeyInput,
    validFrom: isoDateTime().optional().describe('when the key starts signing (default now)'),
  })
  .strict();

export const partner = z.object({
  id: z.string().uuid(),
  name: z.string(),
  jurisdiction: z.string(),
  baseUrl: z.string(),
  caCertificate: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  removedAt: z.string().nullable(),
  keys: z.array(
    z.object({
      keyId: z.string(),
      publicKeyPem: z.string(),
      validFrom: z.string(),
      validUntil: z.string().nullable().describe('signatures created from then on are refused (FEDERATION_KEY_RETIRED); null: no end yet'),
      createdAt: z.string(),
    }),
  ),
});

export const partnersQuery = z.object({ includeRemoved: z.enum(['true', 'false']).optional() });

export const grantBody = z
  .object({
    watchlist: z.string().trim().min(1).max(100).describe('name or id of a watchlist of your organization'),
    partner: z.string().trim().min(1).max(100).describe('id or name of a registered partner deployment'),
    access: z.enum(['search', 'screen']).describe('screen: hit / no hit, a reference and whom to contact; search: also investigative searches with ranked candidates, similarity and calibrated false-match rate'),
    expiresAt: isoDateTime().nullish(),
    discloseNames: z.boolean().default(false).describe("answers carry the subject's name, category and the watchlist's name"),
    discloseCrops: z.boolean().default(false).describe("answers carry the enrolled face crop of each candidate"),
    contact: z.string().trim().min(1).max(1000).describe('whom the partner contacts about a hit (unit, phone, e-mail)'),
  })
  .strict();

export const grant = z.object({
  id: z.string().uuid(),
  watchlistId: z.guid(),
  watchlist: z.string(),
  partnerId: z.string().uuid(),
  partner: z.string(),
  organization: z.string().describe('partner:<partner id>: the organization its searches run as here'),
  access: z.enum(['search', 'screen']),
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  state: z.enum(['pending', 'active', 'declined', 'revoked']).describe('active when made (a partner deployment has no admin here to accept it), revoked by the owner'),
  acceptedAt: z.string().nullable(),
  declinedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  discloseNames: z.boolean(),
  discloseCrops: z.boolean(),
  contact: z.string(),
});

export const grantsQuery = z.object({ includeRevoked: z.enum(['true', 'false']).optional() });

export const identity = z.object({
  name: z.string(),
  federation: z.boolean().describe('false while FEDERATION_PUBLIC_URL is unset: partners cannot reach this deployment'),
  publicUrl: z.string().nullable(),
  algorithm: z.literal('ed25519'),
  keyId: z.string(),
  publicKeyPem: z.string(),
  publicJwk: z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string() }),
});

export const catalogResult = z.object({
  partnerId: z.string().uuid(),
  status: z.enum(PARTNER_STATUSES),
  reason: z.string().optional(),
  grants: catalogAnswer.shape.grants,
});

export const federationRequest = z.object({
  id: z.string().uuid(),
  searchId: z.string().uuid().nullable(),
  organization: z.string(),
  keyId: z.string(),
  holder: z.string(),
  purpose: z.string(),
  caseRef: z.string(),
  mode: z.string(),
  partners: z.array(z.union([partnerResult, z.object({ partnerId: z.string().uuid(), name: z.string(), jurisdiction: z.string() })])).describe('each partner\'s result; name and jurisdiction only while the request is in flight'),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});
