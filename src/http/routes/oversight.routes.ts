import { Router } from 'express';
import { z } from 'zod';
import type { OversightService } from '../../domain/oversight.service';
import { principalOf, requireRole } from '../auth';
import type { OpenApi } from '../openapi';
import * as s from '../schemas';
import { parse } from '../validate';

/** /v1/oversight/stats (auditor). An auditor of an organization other than `*` gets the statistics of its own organization only. */
export function oversightRouter(oversight: OversightService, openapi: OpenApi): Router {
  const r = Router();
  r.get('/stats', requireRole('auditor'), async (req, res) => {
    res.json(await oversight.stats(principalOf(req), parse(s.statsQuery, req.query)));
  });

  openapi.add({
    method: 'get',
    path: '/v1/oversight/stats',
    summary:
      'Searches (1:N and 1:1, mode "verify") in [from, to) by organization, key and mode; candidates returned and their review outcomes (rates over reviewed candidates); searches without any review; top 10 searchers.',
    roles: ['auditor'],
    query: s.statsQuery,
    responses: { 200: { description: 'Statistics', schema: z.object({ searchesByOrganization: z.array(z.object({ organization: z.string(), searches: z.number() })) }).passthrough() } },
  });
  return r;
}
