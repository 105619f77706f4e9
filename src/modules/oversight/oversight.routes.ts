import { Router } from 'express';
import { z } from 'zod';
import type { OversightService } from './oversight.service';
import type { ReportService } from './report.service';
import { uuidParam } from '../../platform/http/fields';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import * as s from './oversight.dto';
import { parse } from '../../platform/http/validate';
import { localeOf } from '../../platform/http/locale';

/**
 * `oversight` at /v1/oversight: statistics (auditor; an auditor of an organization other than `*` gets its own organization's
 * only). `searches` beside the searches router at /v1/searches: the case-file report of one search.
 */
export function oversightRouter(deps: { oversight: OversightService; reports: ReportService }, openapi: OpenApi): { oversight: Router; searches: Router } {
  const { oversight } = deps;
  const r = Router();
  const searches = Router();
  r.get('/stats', requireRole('auditor'), async (req, res) => {
    res.json(await oversight.stats(principalOf(req), parse(s.statsQuery, req.query)));
  });

  searches.get('/:id/report', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    const { format } = parse(s.reportQuery, req.query);
    res.setHeader('Cache-Control', 'no-store');
    if (format === 'html') {
      const locale = localeOf(req);
      // Self-contained and script-free: faces are data: URIs; every other load and every script is forbidden.
      res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'");
      res.setHeader('Content-Language', locale);
      res.setHeader('Vary', 'Accept-Language');
      res.type('text/html; charset=utf-8').send(await deps.reports.html(principalOf(req), id, locale));
    } else {
      res.json(await deps.reports.report(principalOf(req), id));
    }
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
  openapi.add(
    {
      method: 'get',
      path: '/v1/searches/{id}/report',
      summary:
        'Case-file report: parameters, probe hash, all candidates with scores and FMRs, all reviews and review states, and the audit events (seq, hash) covering them. format=html gives a printable self-contained page in English or Spanish (lang=en|es-MX, else Accept-Language), faces numbered from 1 and scores read as "about 1 in N" in a band whose edges are the deployment\'s thresholds; the JSON keeps the API\'s fields and 0-based faceIndex.',
      tag: 'reviews',
      roles: ['searcher', 'reviewer', 'auditor'],
      query: s.reportQuery,
      responses: {
        200: {
          description: 'Report (JSON, or with format=html a self-contained, script-free text/html page)',
          schema: z.object({ reportVersion: z.literal(1) }).passthrough(),
          alternatives: { 'text/html': z.string() },
        },
      },
    }
  );
  return { oversight: r, searches };
}
