import { Router } from 'express';
import { z } from 'zod';
import type { NoticeService } from '../../domain/notice.service';
import { principalOf, requireRole } from '../auth';
import type { OpenApi } from '../openapi';
import * as s from '../schemas';
import { parse } from '../validate';

/** GET /v1/notifications (the owner's hit-notice inbox) and /v1/webhooks (the organization's signed delivery of it). */
export function noticesRouter(notices: NoticeService, openapi: OpenApi): { notifications: Router; webhooks: Router } {
  const n = Router();
  n.get('/', requireRole('enroller', 'reviewer', 'auditor', 'admin'), async (req, res) => {
    res.json(await notices.list(principalOf(req), parse(s.noticesQuery, req.query)));
  });

  const w = Router();
  w.use(requireRole('admin'));
  w.put('/', async (req, res) => {
    res.json(await notices.setWebhook(principalOf(req), parse(s.webhookBody, req.body)));
  });
  w.get('/', async (req, res) => {
    res.json(await notices.webhook(principalOf(req)));
  });
  w.delete('/', async (req, res) => {
    await notices.deleteWebhook(principalOf(req));
    res.status(204).end();
  });

  const webhook = z.object({ organization: z.string(), url: z.string(), updatedAt: z.string() });
  openapi.add(
    {
      method: 'get',
      path: '/v1/notifications',
      summary: "Hit notices: another organization's search returned a subject of one of the caller's watchlists at or above the screening threshold",
      roles: ['enroller', 'reviewer', 'auditor', 'admin'],
      query: s.noticesQuery,
      responses: { 200: { description: 'A page', schema: z.object({ items: z.array(s.notice), nextCursor: z.string().nullable() }) } },
    },
    {
      method: 'put',
      path: '/v1/webhooks',
      summary: 'Deliver every new notice as a POST signed with X-FaceMatch-Signature: sha256=<hex HMAC-SHA256(secret, body)>, retried with exponential backoff',
      roles: ['admin'],
      body: s.webhookBody,
      responses: { 200: { description: 'Set (the secret is never returned)', schema: webhook } },
    },
    { method: 'get', path: '/v1/webhooks', summary: "The organization's webhook and its latest deliveries with every attempt", roles: ['admin'], responses: { 200: { description: 'Webhook', schema: webhook.passthrough() } } },
    { method: 'delete', path: '/v1/webhooks', summary: 'Remove the webhook (pending deliveries are marked failed; notices stay in the inbox)', roles: ['admin'], responses: { 204: { description: 'Removed' } } },
  );
  return { notifications: n, webhooks: w };
}
