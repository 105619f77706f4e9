import { Router } from 'express';
import { z } from 'zod';
import type { KeyService } from './key.service';
import { ROLES } from '../../shared/principal';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import { parse } from '../../platform/http/validate';
import { uuidParam } from '../../platform/http/fields';
import { createKeyBody, publicKey } from './key.dto';


export function keysRouter(keys: KeyService, openapi: OpenApi): Router {
  const r = Router();
  // Any valid key may read itself (the console's sign-in shows holder, organization and roles); the rest is for admins.
  r.get('/me', async (req, res) => {
    res.json(await keys.me(principalOf(req)));
  });
  r.use(requireRole('admin'));

  r.post('/', async (req, res) => {
    const body = parse(createKeyBody, req.body);
    res.status(201).json(await keys.create(principalOf(req), body));
  });
  r.get('/', async (req, res) => {
    res.json({ items: await keys.list(principalOf(req)) });
  });
  r.delete('/:id', async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.json(await keys.revoke(principalOf(req), id));
  });

  openapi.add(
    {
      method: 'post',
      path: '/v1/keys',
      summary: 'Create an API key (the secret is returned once)',
      roles: ['admin'],
      body: createKeyBody,
      responses: { 201: { description: 'Created', schema: publicKey.extend({ key: z.string() }) } },
    },
    { method: 'get', path: '/v1/keys/me', summary: 'The calling key: id, holder, organization, roles, label (no secret). Any role.', roles: [...ROLES], responses: { 200: { description: 'This key', schema: publicKey } } },
    { method: 'get', path: '/v1/keys', summary: 'List API keys (no secrets)', roles: ['admin'], responses: { 200: { description: 'Keys', schema: z.object({ items: z.array(publicKey) }) } } },
    {
      method: 'delete',
      path: '/v1/keys/{id}',
      summary: 'Revoke an API key (effective on its next request). Never the last active admin key of organization *.',
      roles: ['admin'],
      responses: { 200: { description: 'Revoked', schema: publicKey } },
      errors: { 409: 'LAST_ADMIN: the last active admin key of organization * (create another one first)' },
    },
  );
  return r;
}
