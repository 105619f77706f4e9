import { Router } from 'express';
import { z } from 'zod';
import { ROLES } from '../../shared/principal';
import type { WatchlistService } from './watchlist.service';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import * as s from './watchlist.dto';
import { uuidParam } from '../../platform/http/fields';
import { erasureReceipt } from '../gallery/gallery.model';
import { parse } from '../../platform/http/validate';

const orNull = <T>(v: T | null | undefined): T | null => v ?? null;

/** /v1/watchlists: owned by one organization, shared by grant (API.md "Watchlists"). Not readable → 404; readable, not owned → 403. */
export function watchlistsRouter(watchlists: WatchlistService, openapi: OpenApi): Router {
  const r = Router();
  const manage = requireRole('enroller', 'admin');
  const read = requireRole(...ROLES);
  const grantAdmin = requireRole('admin');
  const grantRead = requireRole('enroller', 'admin', 'auditor');

  r.post('/', manage, async (req, res) => {
    const b = parse(s.watchlistCreateBody, req.body);
    res.status(201).json(await watchlists.create(principalOf(req), { ...b, description: orNull(b.description), retentionDays: orNull(b.retentionDays) }));
  });
  r.get('/', read, async (req, res) => {
    res.json({ items: await watchlists.list(principalOf(req)) });
  });
  r.get('/:id', read, async (req, res) => {
    res.json(await watchlists.get(principalOf(req), parse(uuidParam, req.params).id));
  });
  r.patch('/:id', manage, async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.json(await watchlists.update(principalOf(req), id, parse(s.watchlistPatch, req.body)));
  });
  r.delete('/:id', manage, async (req, res) => {
    res.json(await watchlists.remove(principalOf(req), parse(uuidParam, req.params).id));
  });
  r.post('/:id/grants', grantAdmin, async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.status(201).json(await watchlists.grant(principalOf(req), id, parse(s.grantBody, req.body)));
  });
  r.get('/:id/grants', grantRead, async (req, res) => {
    res.json({ items: await watchlists.grants(principalOf(req), parse(uuidParam, req.params).id) });
  });
  r.delete('/:id/grants/:grantId', grantAdmin, async (req, res) => {
    const { id, grantId } = parse(s.grantParams, req.params);
    res.json(await watchlists.revoke(principalOf(req), id, grantId));
  });

  const all = [...ROLES];
  const page = (item: z.ZodType) => z.object({ items: z.array(item) });
  openapi.add(
    { method: 'post', path: '/v1/watchlists', summary: "Create a watchlist owned by the caller's organization (name unique within it)", roles: ['enroller', 'admin'], body: s.watchlistCreateBody, responses: { 201: { description: 'Created', schema: s.watchlist } }, errors: { 409: 'CONFLICT: the organization already has a watchlist of that name' } },
    { method: 'get', path: '/v1/watchlists', summary: "The organization's own watchlists and those granted to it, each with access owner | search | screen", roles: all, responses: { 200: { description: 'Watchlists', schema: page(s.watchlist) } } },
    { method: 'get', path: '/v1/watchlists/{id}', summary: 'A watchlist the caller owns or holds a live grant for (404 otherwise)', roles: all, responses: { 200: { description: 'Watchlist', schema: s.watchlist } } },
    { method: 'patch', path: '/v1/watchlists/{id}', summary: 'Change a watchlist (owner only)', roles: ['enroller', 'admin'], body: s.watchlistPatch, responses: { 200: { description: 'Updated', schema: s.watchlist } } },
    { method: 'delete', path: '/v1/watchlists/{id}', summary: 'Delete a watchlist (owner only): erases its subjects, each with a receipt, and its grants', roles: ['enroller', 'admin'], responses: { 200: { description: 'Receipts', schema: z.object({ watchlistId: z.string(), subjectsErased: z.array(erasureReceipt), auditHash: z.string() }) } }, errors: { 409: 'CONFLICT: subjects were enrolled while it was being deleted; retry' } },
    { method: 'post', path: '/v1/watchlists/{id}/grants', summary: "Offer another organization search (both modes) or screen (screening only) access, optionally until expiresAt (owner's admin); pending, and no access, until an admin of that organization accepts it (POST /v1/grants/{id}/accept)", roles: ['admin'], body: s.grantBody, responses: { 201: { description: 'Granted', schema: s.grant } }, errors: { 409: 'CONFLICT: the organization owns the watchlist or already holds a live grant to it' } },
    { method: 'get', path: '/v1/watchlists/{id}/grants', summary: 'Grants of a watchlist, revoked ones included (owner; auditors of *)', roles: ['enroller', 'admin', 'auditor'], responses: { 200: { description: 'Grants', schema: page(s.grant) } } },
    { method: 'delete', path: '/v1/watchlists/{id}/grants/{grantId}', summary: 'Revoke a pending or active grant; effective on the next request', roles: ['admin'], responses: { 200: { description: 'Revoked', schema: s.grant } } },
  );
  return r;
}

/** /v1/grants: grants made to the caller's organization, which its admins accept or decline (a pending grant gives nothing). */
export function grantsRouter(watchlists: WatchlistService, openapi: OpenApi): Router {
  const r = Router();
  const admin = requireRole('admin');
  r.get('/', requireRole('enroller', 'admin', 'auditor'), async (req, res) => {
    res.json({ items: await watchlists.received(principalOf(req)) });
  });
  r.post('/:id/accept', admin, async (req, res) => {
    res.json(await watchlists.answer(principalOf(req), parse(s.grantIdParam, req.params).id, 'accept'));
  });
  r.post('/:id/decline', admin, async (req, res) => {
    res.json(await watchlists.answer(principalOf(req), parse(s.grantIdParam, req.params).id, 'decline'));
  });
  const notYours = "NOT_FOUND: no grant of that id was made to the caller's organization";
  openapi.add(
    { method: 'get', path: '/v1/grants', tag: 'watchlists', summary: "Grants made to the caller's organization, every state, newest first, with the watchlist each offers", roles: ['enroller', 'admin', 'auditor'], responses: { 200: { description: 'Grants received', schema: z.object({ items: z.array(s.receivedGrant) }) } } },
    { method: 'post', path: '/v1/grants/{id}/accept', tag: 'watchlists', summary: "Accept a pending grant (admin of the receiving organization): it gives access from the next request", roles: ['admin'], responses: { 200: { description: 'Accepted', schema: s.receivedGrant } }, errors: { 404: notYours, 409: 'CONFLICT: the grant was already accepted, declined, revoked, or expired' } },
    { method: 'post', path: '/v1/grants/{id}/decline', tag: 'watchlists', summary: 'Decline a pending grant or give up an active one (admin of the receiving organization)', roles: ['admin'], responses: { 200: { description: 'Declined', schema: s.receivedGrant } }, errors: { 404: notYours, 409: 'CONFLICT: the grant was already declined or revoked' } },
  );
  return r;
}
