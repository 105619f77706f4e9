import { Router } from 'express';
import { z } from 'zod';
import { ROLES } from '../../domain/api-key';
import type { WatchlistService } from '../../domain/watchlist.service';
import { principalOf, requireRole } from '../auth';
import type { OpenApi } from '../openapi';
import * as s from '../schemas';
import { parse } from '../validate';

const orNull = <T>(v: T | null | undefined): T | null => v ?? null;

/** /v1/watchlists: owned by one organization, shared by grant (API.md "Watchlists"). Not readable → 404; readable, not owned → 403. */
export function watchlistsRouter(watchlists: WatchlistService, openapi: OpenApi): Router {
  const r = Router();
  const manage = requireRole('enroller', 'admin');
  const read = requireRole(...ROLES);
  const grantAdmin = requireRole('admin');
  const grantRead = requireRole('enroller', 'admin', 'auditor');

  r.post('/', manage, async (req, res) => {
    const b = parse(s.watchlistBody, req.body);
    res.status(201).json(await watchlists.create(principalOf(req), { ...b, description: orNull(b.description), retentionDays: orNull(b.retentionDays) }));
  });
  r.get('/', read, async (req, res) => {
    res.json({ items: await watchlists.list(principalOf(req)) });
  });
  r.get('/:id', read, async (req, res) => {
    res.json(await watchlists.get(principalOf(req), parse(s.uuidParam, req.params).id));
  });
  r.patch('/:id', manage, async (req, res) => {
    const { id } = parse(s.uuidParam, req.params);
    res.json(await watchlists.update(principalOf(req), id, parse(s.watchlistPatch, req.body)));
  });
  r.delete('/:id', manage, async (req, res) => {
    res.json(await watchlists.remove(principalOf(req), parse(s.uuidParam, req.params).id));
  });
  r.post('/:id/grants', grantAdmin, async (req, res) => {
    const { id } = parse(s.uuidParam, req.params);
    res.status(201).json(await watchlists.grant(principalOf(req), id, parse(s.grantBody, req.body)));
  });
  r.get('/:id/grants', grantRead, async (req, res) => {
    res.json({ items: await watchlists.grants(principalOf(req), parse(s.uuidParam, req.params).id) });
  });
  r.delete('/:id/grants/:grantId', grantAdmin, async (req, res) => {
    const { id, grantId } = parse(s.grantParams, req.params);
    res.json(await watchlists.revoke(principalOf(req), id, grantId));
  });

  const all = [...ROLES];
  const page = (item: z.ZodType) => z.object({ items: z.array(item) });
  openapi.add(
    { method: 'post', path: '/v1/watchlists', summary: "Create a watchlist owned by the caller's organization (name unique within it)", roles: ['enroller', 'admin'], body: s.watchlistBody, responses: { 201: { description: 'Created', schema: s.watchlist } }, errors: { 409: 'CONFLICT: the organization already has a watchlist of that name' } },
    { method: 'get', path: '/v1/watchlists', summary: "The organization's own watchlists and those granted to it, each with access owner | search | screen", roles: all, responses: { 200: { description: 'Watchlists', schema: page(s.watchlist) } } },
    { method: 'get', path: '/v1/watchlists/{id}', summary: 'A watchlist the caller owns or holds a live grant for (404 otherwise)', roles: all, responses: { 200: { description: 'Watchlist', schema: s.watchlist } } },
    { method: 'patch', path: '/v1/watchlists/{id}', summary: 'Change a watchlist (owner only)', roles: ['enroller', 'admin'], body: s.watchlistPatch, responses: { 200: { description: 'Updated', schema: s.watchlist } } },
    { method: 'delete', path: '/v1/watchlists/{id}', summary: 'Delete a watchlist (owner only): erases its subjects, each with a receipt, and its grants', roles: ['enroller', 'admin'], responses: { 200: { description: 'Receipts', schema: z.object({ watchlistId: z.string(), subjectsErased: z.array(s.erasureReceipt), auditHash: z.string() }) } }, errors: { 409: 'CONFLICT: subjects were enrolled while it was being deleted; retry' } },
    { method: 'post', path: '/v1/watchlists/{id}/grants', summary: "Grant another organization search (both modes) or screen (screening only) access, optionally until expiresAt (owner's admin)", roles: ['admin'], body: s.grantBody, responses: { 201: { description: 'Granted', schema: s.grant } }, errors: { 409: 'CONFLICT: the organization owns the watchlist or already holds a live grant to it' } },
    { method: 'get', path: '/v1/watchlists/{id}/grants', summary: 'Grants of a watchlist, revoked ones included (owner; auditors of *)', roles: ['enroller', 'admin', 'auditor'], responses: { 200: { description: 'Grants', schema: page(s.grant) } } },
    { method: 'delete', path: '/v1/watchlists/{id}/grants/{grantId}', summary: 'Revoke a grant; effective on the next request', roles: ['admin'], responses: { 200: { description: 'Revoked', schema: s.grant } } },
  );
  return r;
}
