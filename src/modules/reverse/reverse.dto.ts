import { z } from 'zod';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
export const reverseBody = z
  .object({
    customersWatchlist: z.string().trim().min(1).max(100).describe("name or id of one of the caller's organization's watchlists of kind customers"),
    purpose: z.string().trim().min(1).max(1000).describe('stated on every screening search this runs (held to the organization’s purpose policy, now and at each run)'),
    caseRef: z.string().trim().min(1).max(200),
  })
  .strict();

export const reverseScreening = z.object({
  grantId: z.string().uuid(),
  watchlistId: z.guid().describe('the granted watchlist, whose new subjects are screened'),
  owner: z.string().describe('its owner'),
  customersWatchlistId: z.guid(),
  customersWatchlist: z.string(),
  purpose: z.string(),
  caseRef: z.string(),
  enabledBy: z.object({ keyId: z.string(), holder: z.string().nullable() }).describe('the screening searches are this key’s'),
  enabledAt: z.string(),
});

export const grantIdParam = z.object({ id: z.string().uuid() });
