import { Router } from 'express';
import type { ReverseService } from './reverse.service';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import { parse } from '../../platform/http/validate';
import * as s from './reverse.dto';

/** /v1/grants/:id/reverse-screening: the receiving organization's customers watchlist screened against the grant's new subjects. */
export function reverseRouter(reverse: ReverseService, openapi: OpenApi): Router {
  const r = Router();
  const admin = requireRole('admin');
  r.get('/:id/reverse-screening', requireRole('enroller', 'admin', 'auditor'), async (req, res) => {
    res.json(await reverse.get(principalOf(req), parse(s.grantIdParam, req.params).id));
  });
  r.put('/:id/reverse-screening', admin, async (req, res) => {
    const { id } = parse(s.grantIdParam, req.params);
    res.json(await reverse.enable(principalOf(req), id, parse(s.reverseBody, req.body)));
  });
  r.delete('/:id/reverse-screening', admin, async (req, res) => {
    res.json(await reverse.disable(principalOf(req), parse(s.grantIdParam, req.params).id));
  });
  const notYours = "NOT_FOUND: no grant of that id was made to the caller's organization (or, for GET and DELETE, none is set on it)";
  openapi.add(
    { method: 'get', path: '/v1/grants/{id}/reverse-screening', tag: 'watchlists', summary: "The reverse screening set on a grant made to the caller's organization", roles: ['enroller', 'admin', 'auditor'], responses: { 200: { description: 'Reverse screening', schema: s.reverseScreening } }, errors: { 404: notYours } },
    {
      method: 'put',
      path: '/v1/grants/{id}/reverse-screening',
      tag: 'watchlists',
      summary:
        "Screen one of the caller's customers watchlists against every subject the owner enrols in the granted watchlist from now on (admin of the receiving organization): each new template is the probe of a screening search by this organization over that watchlist only, with hit notices to both sides (notice.reverse) and audited on both sides (search.run here, reverse_screening.run for the owner). Subjects enrolled before are not screened (a screening job does that). Replaces an earlier setting; audited as reverse_screening.enabled",
      roles: ['admin'],
      body: s.reverseBody,
      responses: { 200: { description: 'Enabled', schema: s.reverseScreening } },
      errors: { 400: 'PURPOSE_NOT_ALLOWED: the purpose does not meet the organization’s policy; UNKNOWN_WATCHLIST: no watchlist of the organization by that name or id', 404: notYours, 409: 'CONFLICT: the grant is not live (pending, revoked, declined or expired), or the watchlist is not of kind customers' },
    },
    { method: 'delete', path: '/v1/grants/{id}/reverse-screening', tag: 'watchlists', summary: 'Stop reverse screening on a grant (admin of the receiving organization); screenings queued and not yet run are skipped. Audited as reverse_screening.disabled', roles: ['admin'], responses: { 200: { description: 'The setting that was removed', schema: s.reverseScreening } }, errors: { 404: notYours } },
  );
  return r;
}
