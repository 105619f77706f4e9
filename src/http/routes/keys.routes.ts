import { Router } from 'express';
import { z } from 'zod';
import { ROLES } from '../../domain/api-key';
import type { KeyService } from '../../domain/key.service';
import { principalOf, requireRole } from '../auth';
import type { OpenApi } from '../openapi';
import { parse } from '../validate';

const createKeyBody = z
  .object({
    roles: z.array(z.enum(ROLES)).min(1),
    organization: z.string().trim().min(1).max(100).regex(/^(\*|[A-Za-z0-9._-]+)$/, 'letters, digits, . _ - (or * for all)'),
    holder: z.string().trim().min(1).max(200).describe('the person (or system) that uses the key; shown in reviews and reports, and two keys of one holder count once in four-eyes review'),
    label: z.string().max(200).optional(),
  })
  .strict();

const publicKey = z.object({
  id: z.string().uuid(),
  roles: z.array(z.enum(ROLES)),
  organization: z.string(),
  holder: z.string(),
  label: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

const idParam = z.object({ id: z.string().uuid() });

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
    const { id } = parse(idParam, req.params);
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
    { method: 'delete', path: '/v1/keys/{id}', summary: 'Revoke an API key', roles: ['admin'], responses: { 200: { description: 'Revoked', schema: publicKey } } },
  );
  return r;
}
