import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { PayloadTooLargeError, ValidationError, type AppError } from '../../shared/errors';
import type { DeploymentKey } from '../../platform/crypto/deployment-key';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import { uuidParam } from '../../platform/http/fields';
import { parse } from '../../platform/http/validate';
import * as s from './federation.dto';
import { catalogAnswer, incomingSearch, searchAnswer, type FederatedGrant, type Partner } from './federation.model';
import type { PartnerService } from './partner.service';
import type { FederationService } from './federation.service';
import { CATALOG_PATH, SEARCH_PATH, type AnsweringService, type SignedAnswer } from './answering.service';

const grantView = ({ owner: _owner, ...g }: FederatedGrant & { owner?: string }) => g;
const partnerView = (p: Partner) => p;

const REFUSALS =
  'FEDERATION_SIGNATURE_MISSING (unsigned), FEDERATION_SIGNATURE_INVALID (malformed, off-profile, or not verifying: altered or another key), FEDERATION_UNKNOWN_KEY, FEDERATION_KEY_RETIRED (a rotated key after its overlap), FEDERATION_SIGNATURE_EXPIRED (created further than FEDERATION_MAX_SKEW_SECONDS from this clock), FEDERATION_DIGEST_MISMATCH (the body was altered), FEDERATION_REPLAYED (nonce seen before); each refusal is audited (federation.refused)';

/**
 * The deployment's face to its partners, outside /v1 and without API keys: the well-known identity, and the signed federation
 * routes (mounted only when FEDERATION_PUBLIC_URL is set). Bodies are read raw (what was signed is what is verified), up to
 * FEDERATION_MAX_REQUEST_BYTES; every answer of a federation route is signed.
 */
export function federationPublicRouter(
  deps: { answering: AnsweringService | null; identity: () => z.infer<typeof s.identity>; maxRequestBytes: number },
  openapi: OpenApi,
): Router {
  const r = Router();
  r.get('/.well-known/facematch-federation', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json(deps.identity());
  });
  const send = (res: Response, a: SignedAnswer) => {
    for (const [k, v] of Object.entries(a.headers)) res.setHeader(k, v);
    res.status(a.status).end(a.body);
  };
  const meta = (req: Request) => ({ method: req.method, path: req.path === '/' ? req.baseUrl : `${req.baseUrl}${req.path}`, headers: req.headers, remoteAddress: req.socket.remoteAddress ?? 'unknown', requestId: req.id });
  if (deps.answering) {
    const answering = deps.answering;
    const fed = Router();
    fed.use(express.raw({ type: () => true, limit: deps.maxRequestBytes }));
    fed.use(async (req: Request, res: Response) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      send(res, await answering.receive({ ...meta(req), path: `/federation/v1${req.path}`, body }));
    });
    // Errors of the body parser (too large, unreadable): answered signed, like everything on these routes.
    fed.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      const e = err as { type?: string; status?: number };
      const app: AppError =
        e?.type === 'entity.too.large' || e?.status === 413 ? new PayloadTooLargeError(deps.maxRequestBytes, 'The federation request') : new ValidationError('The federation request body could not be read.');
      send(res, answering.answerError({ ...meta(req), path: `/federation/v1${req.path}` }, app));
    });
    r.use('/federation/v1', fed);
  }

  const signed = { 401: `Signature refused: ${REFUSALS}`, 413: 'PAYLOAD_TOO_LARGE: the body exceeds FEDERATION_MAX_REQUEST_BYTES', 429: 'RATE_LIMITED: too many refused requests from this address (Retry-After)', 503: 'NOT_READY or OVERLOADED (Retry-After)' };
  openapi.add(
    {
      method: 'get',
      path: '/.well-known/facematch-federation',
      tag: 'federation',
      summary: "This deployment's federation identity: its name, public URL and Ed25519 public key (PEM and JWK) for partners to register out of band",
      responses: { 200: { description: 'Identity', schema: s.identity } },
    },
    {
      method: 'post',
      path: SEARCH_PATH,
      tag: 'federation',
      summary:
        "A partner deployment's federated search (RFC 9421 signed, docs/federation.md): its face chips are embedded with this deployment's model and searched in the watchlists granted to it in that mode; the signed answer discloses only what each grant allows. A watchlist not granted answers as one that does not exist.",
      body: incomingSearch,
      responses: { 200: { description: 'Signed answer', schema: searchAnswer } },
      errors: { ...signed, 400: 'VALIDATION_FAILED (malformed body or chip), UNKNOWN_WATCHLIST (a named watchlist that is not granted — or does not exist: the same answer)' },
    },
    {
      method: 'get',
      path: CATALOG_PATH,
      tag: 'federation',
      summary: 'What this deployment grants the signing partner now: watchlist ids, access, expiry, contact (names only where the grant discloses them)',
      responses: { 200: { description: 'Signed answer', schema: catalogAnswer } },
      errors: signed,
    },
  );
  return r;
}

/** /v1/federation: the partner registry (operator), grants to partners (owners' admins), sent federated searches. */
export function federationRouter(deps: { partners: PartnerService; federation: FederationService; key: DeploymentKey; identity: () => z.infer<typeof s.identity> }, openapi: OpenApi): Router {
  const r = Router();
  const admin = requireRole('admin');
  const oversee = requireRole('admin', 'auditor');
  const { partners, federation } = deps;

  r.get('/identity', oversee, (_req, res) => {
    res.json(deps.identity());
  });
  r.post('/partners', admin, async (req, res) => {
    const b = parse(s.partnerBody, req.body);
    res.status(201).json(partnerView(await partners.register(principalOf(req), b)));
  });
  r.get('/partners', oversee, async (req, res) => {
    const q = parse(s.partnersQuery, req.query);
    res.json({ items: (await partners.list({ includeRemoved: q.includeRemoved === 'true' })).map(partnerView) });
  });
  r.get('/partners/:id', oversee, async (req, res) => {
    res.json(partnerView(await partners.get(parse(uuidParam, req.params).id)));
  });
  r.patch('/partners/:id', admin, async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.json(partnerView(await partners.update(principalOf(req), id, parse(s.partnerPatch, req.body))));
  });
  r.delete('/partners/:id', admin, async (req, res) => {
    await partners.remove(principalOf(req), parse(uuidParam, req.params).id);
    res.status(204).end();
  });
  r.post('/partners/:id/keys', admin, async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.status(201).json(partnerView(await partners.addKey(principalOf(req), id, parse(s.partnerKeyBody, req.body))));
  });
  r.get('/partners/:id/catalog', requireRole('admin', 'auditor', 'searcher'), async (req, res) => {
    res.json(await federation.catalog(parse(uuidParam, req.params).id));
  });
  r.post('/grants', admin, async (req, res) => {
    res.status(201).json(grantView(await federation.grant(principalOf(req), parse(s.grantBody, req.body))));
  });
  r.get('/grants', oversee, async (req, res) => {
    const q = parse(s.grantsQuery, req.query);
    res.json({ items: (await federation.grants(principalOf(req), { includeRevoked: q.includeRevoked === 'true' })).map(grantView) });
  });
  r.delete('/grants/:id', admin, async (req, res) => {
    res.json(grantView(await federation.revoke(principalOf(req), parse(uuidParam, req.params).id)));
  });
  r.get('/requests/:id', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    res.json(await federation.request(principalOf(req), parse(uuidParam, req.params).id));
  });

  const page = (item: z.ZodType) => z.object({ items: z.array(item) });
  const op = (o: Parameters<OpenApi['add']>[0]) => ({ tag: 'federation', ...o });
  openapi.add(
    op({ method: 'get', path: '/v1/federation/identity', summary: "This deployment's federation identity (as at /.well-known/facematch-federation)", roles: ['admin', 'auditor'], responses: { 200: { description: 'Identity', schema: s.identity } } }),
    op({
      method: 'post',
      path: '/v1/federation/partners',
      summary: 'Register a partner deployment (the operator: admin of organization *): name, jurisdiction, base URL (checked against the outbound destination policy), its Ed25519 public key, optionally the CA of its TLS certificate',
      roles: ['admin'],
      body: s.partnerBody,
      responses: { 201: { description: 'Registered', schema: s.partner } },
      errors: { 400: 'VALIDATION_FAILED (not an Ed25519 key, bad URL); DESTINATION_REFUSED: the base URL may not be contacted', 403: 'FORBIDDEN: not an admin of organization *', 409: 'CONFLICT: that name or key is registered already, or it is this deployment\'s own key' },
    }),
    op({ method: 'get', path: '/v1/federation/partners', summary: 'Registered partner deployments with their keys and validity', roles: ['admin', 'auditor'], query: s.partnersQuery, responses: { 200: { description: 'Partners', schema: page(s.partner) } } }),
    op({ method: 'get', path: '/v1/federation/partners/{id}', summary: 'One partner deployment', roles: ['admin', 'auditor'], responses: { 200: { description: 'Partner', schema: s.partner } } }),
    op({ method: 'patch', path: '/v1/federation/partners/{id}', summary: 'Change a partner (operator)', roles: ['admin'], body: s.partnerPatch, responses: { 200: { description: 'Partner', schema: s.partner } }, errors: { 400: 'VALIDATION_FAILED; DESTINATION_REFUSED', 409: 'CONFLICT: name taken' } }),
    op({ method: 'delete', path: '/v1/federation/partners/{id}', summary: 'Remove a partner (operator): nothing it signs is accepted from then on', roles: ['admin'], responses: { 204: { description: 'Removed' } } }),
    op({
      method: 'post',
      path: '/v1/federation/partners/{id}/keys',
      summary: "Add a partner's new key (it rotated): its older keys stay valid FEDERATION_KEY_OVERLAP_SECONDS longer, then their signatures are refused (FEDERATION_KEY_RETIRED)",
      roles: ['admin'],
      body: s.partnerKeyBody,
      responses: { 201: { description: 'Partner with its keys', schema: s.partner } },
      errors: { 409: 'CONFLICT: the key is registered already' },
    }),
    op({ method: 'get', path: '/v1/federation/partners/{id}/catalog', summary: 'Ask the partner (signed) what it grants this deployment now', roles: ['admin', 'auditor', 'searcher'], responses: { 200: { description: 'Its answer, or its status', schema: s.catalogResult } } }),
    op({
      method: 'post',
      path: '/v1/federation/grants',
      summary: "Grant one of your organization's watchlists to a partner deployment (owner's admin): screen or search, names and crops only when said, whom to contact, optional expiry",
      roles: ['admin'],
      body: s.grantBody,
      responses: { 201: { description: 'Granted', schema: s.grant } },
      errors: { 400: 'UNKNOWN_WATCHLIST: not a watchlist of your organization; VALIDATION_FAILED', 404: 'NOT_FOUND: no such partner', 409: 'CONFLICT: a live grant of that watchlist to that partner exists' },
    }),
    op({ method: 'get', path: '/v1/federation/grants', summary: "Your organization's grants to partner deployments (auditors of *: everyone's)", roles: ['admin', 'auditor'], query: s.grantsQuery, responses: { 200: { description: 'Grants', schema: page(s.grant) } } }),
    op({ method: 'delete', path: '/v1/federation/grants/{id}', summary: "Revoke a grant to a partner; effective on the partner's next request", roles: ['admin'], responses: { 200: { description: 'Revoked', schema: s.grant } } }),
    op({ method: 'get', path: '/v1/federation/requests/{id}', summary: 'A federated search this deployment sent: who asked, why, and each partner\'s status and answer', roles: ['searcher', 'reviewer', 'auditor'], responses: { 200: { description: 'Request', schema: s.federationRequest } } }),
  );
  return r;
}
