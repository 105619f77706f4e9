import { z } from 'zod';
import { shortName, isoDateTime } from '../../platform/http/fields';
import { ACCEPT_QUALITY_POLICIES, WATCHLIST_KINDS } from './watchlist.model';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
export const watchlistName = shortName.regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -');

export const watchlistBody = z
  .object({
    name: watchlistName,
    description: z.string().max(2000).nullish(),
    jurisdiction: z.string().trim().min(1).max(100),
    legalBasis: z.string().trim().min(1).max(500),
    retentionDays: z.number().int().min(1).max(36500).nullish(),
    enrolment: z
      .object({
        acceptQuality: z
          .enum(ACCEPT_QUALITY_POLICIES)
          .describe(
            'faces between ENROL_QUALITY_FLOOR and ENROL_MIN_QUALITY: never enrolled, enrolled on acceptQuality=true (on_request, the default) or always enrolled (flagged as overruled); admin only',
          ),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Created with a kind, which never changes: a patch that sends `kind` is refused (unknown key). */
export const watchlistCreateBody = watchlistBody.extend({
  kind: z
    .enum(WATCHLIST_KINDS)
    .optional()
    .describe("watchlist (the default): subjects, shareable by grant; customers: the organization's own clients, never granted, screened against new subjects of watchlists granted to it where its admin enables reverse screening (PUT /v1/grants/{id}/reverse-screening)"),
});

export const watchlistPatch = watchlistBody.partial().strict();

export const watchlist = z.object({
  id: z.guid(),
  kind: z.enum(WATCHLIST_KINDS),
  name: z.string(),
  organization: z.string(),
  description: z.string().nullable(),
  jurisdiction: z.string(),
  legalBasis: z.string(),
  retentionDays: z.number().int().nullable(),
  enrolment: z.object({ acceptQuality: z.enum(ACCEPT_QUALITY_POLICIES) }).describe("the watchlist's enrolment overrule policy"),
  createdAt: z.string(),
  updatedAt: z.string(),
  access: z.enum(['owner', 'search', 'screen']).optional(),
});

export const grantBody = z
  .object({
    organization: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -'),
    access: z.enum(['search', 'screen']),
    expiresAt: isoDateTime().nullish(),
  })
  .strict();

export const grant = z.object({
  id: z.string().uuid(),
  watchlistId: z.guid(),
  organization: z.string(),
  access: z.enum(['search', 'screen']),
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  state: z
    .enum(['pending', 'active', 'declined', 'revoked'])
    .describe('pending until an admin of the receiving organization accepts (no access meanwhile); active; declined by the receiver; revoked by the owner. An active grant past expiresAt gives no access either'),
  acceptedAt: z.string().nullable(),
  declinedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

export const receivedGrant = grant.extend({ watchlist: z.string().describe("the offered watchlist's name"), owner: z.string().describe('the organization that owns it and made the grant') });

export const grantIdParam = z.object({ id: z.string().uuid() });

export const grantParams = z.object({ id: z.string().uuid(), grantId: z.string().uuid() });
