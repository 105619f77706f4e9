import { z } from 'zod';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
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
  federation: z
    .object({
      requestId: z.string().uuid(),
      partnerId: z.string().uuid(),
      partner: z.string(),
      jurisdiction: z.string(),
      organization: z.string(),
      holder: z.string(),
    })
    .optional()
    .describe(
      "present when a partner deployment's federated search caused the hit: the federation request id (the partner's audit chain records the same id), the partner as registered here, and the organization and person it names as asking",
    ),
  reverse: z
    .object({
      grantId: z.string().uuid(),
      probe: z.object({ organization: z.string(), watchlistId: z.guid(), subjectId: z.string().uuid(), faceId: z.string().uuid() }),
    })
    .optional()
    .describe(
      "present when a reverse screening on enrolment caused the hit (docs/sharing.md): the grant under which the receiving organization's customers watchlist was screened, and the owner's newly enrolled template that was the probe. The receiving organization's notice names its customer as subjectId; the owner's names its own subject",
    ),
});

export const noticesQuery = z.object({ cursor: z.string().optional(), limit: z.coerce.number().int().min(1).max(200).default(50) });

/** `whsec_` + base64 of 24 to 64 bytes (Standard Webhooks). */
const whsec = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'whsec_ followed by base64')
  .refine((v) => {
    const n = Buffer.from(v.slice(6), 'base64').length;
    return n >= 24 && n <= 64;
  }, 'the base64 part must decode to 24 to 64 bytes');

export const webhookBody = z
  .object({
    url: z.string().url().max(2000).describe('https URL (http only where the operator allows it); checked against the destination policy now and at every delivery'),
    secret: whsec.optional().describe('omit it and the service generates one, returned once in the answer'),
  })
  .strict();

export const rotateBody = z
  .object({ overlapSeconds: z.number().int().min(0).max(7 * 24 * 3600).default(86_400).describe('how long the previous secret keeps signing too') })
  .strict();

export const webhook = z.object({
  organization: z.string(),
  url: z.string(),
  updatedAt: z.string(),
  secret: z.string().optional().describe('only when the service generated it: shown this once'),
});

export const rotated = z.object({ organization: z.string(), secret: z.string(), previousValidUntil: z.string(), updatedAt: z.string() });

export const deliveries = webhook.omit({ secret: true }).extend({
  deliveries: z.array(
    z.object({
      id: z.string(),
      noticeId: z.string(),
      status: z.enum(['pending', 'delivered', 'failed']),
      attempts: z.array(
        z.object({
          attempt: z.number().int(),
          at: z.string(),
          outcome: z
            .enum(['delivered', 'destination_refused', 'connect_failed', 'timeout', 'tls_failed', 'protocol_error', 'redirect_refused', 'http_4xx', 'http_5xx', 'http_other'])
            .describe("what the attempt came to: a class, never the receiver's status line or body"),
        }),
      ),
      nextAttemptAt: z.string().nullable(),
      deliveredAt: z.string().nullable(),
    }),
  ),
});
