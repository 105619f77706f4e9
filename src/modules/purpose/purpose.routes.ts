import { Router } from 'express';
import { ROLES } from '../../shared/principal';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import { parse } from '../../platform/http/validate';
import * as s from './purpose.dto';
import type { PurposeService } from './purpose.service';

/** /v1/purpose-policy: read (any role: a searcher sees what it must state), set and clear (admin). */
export function purposeRouter(purposes: PurposeService, openapi: OpenApi): Router {
  const r = Router();
  r.get('/', requireRole(...ROLES), async (req, res) => {
    res.json(await purposes.read(principalOf(req), parse(s.purposePolicyQuery, req.query).organization));
  });
  r.put('/', requireRole('admin'), async (req, res) => {
    res.json(await purposes.set(principalOf(req), parse(s.purposePolicyBody, req.body)));
  });
  r.delete('/', requireRole('admin'), async (req, res) => {
    res.json(await purposes.clear(principalOf(req), parse(s.purposePolicyClearQuery, req.query).organization));
  });
  openapi.add(
    {
      method: 'get',
      path: '/v1/purpose-policy',
      summary: "The purpose policy that applies to the caller's organization (a search or verification whose purpose does not meet it is refused with 400 PURPOSE_NOT_ALLOWED)",
      roles: [...ROLES],
      query: s.purposePolicyQuery,
      responses: { 200: { description: 'Policy', schema: s.purposePolicy } },
    },
    {
      method: 'put',
      path: '/v1/purpose-policy',
      summary: "Set the organization's purpose policy (admin; audited): a minimum length at least the deployment's, and/or the exact purposes allowed",
      roles: ['admin'],
      body: s.purposePolicyBody,
      responses: { 200: { description: 'The policy now in force', schema: s.purposePolicy } },
    },
    {
      method: 'delete',
      path: '/v1/purpose-policy',
      summary: "Remove the organization's own purpose policy (admin; audited): the deployment's minimum length applies again",
      roles: ['admin'],
      query: s.purposePolicyClearQuery,
      responses: { 200: { description: 'The policy now in force', schema: s.purposePolicy } },
      errors: { 404: 'NOT_FOUND: the organization has no policy of its own' },
    },
  );
  return r;
}
