import { Router } from 'express';
import { z } from 'zod';
import type { NoticeService } from './notice.service';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import * as s from './notice.dto';
import { parse } from '../../platform/http/validate';

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
  w.post('/secret', async (req, res) => {
    res.json(await notices.rotateSecret(principalOf(req), parse(s.rotateBody, req.body ?? {})));
  });
  w.get('/', async (req, res) => {
    res.json(await notices.webhook(principalOf(req)));
  });
  w.post('/test', async (req, res) => {
    res.json(await notices.testWebhook(principalOf(req)));
  });
  w.delete('/', async (req, res) => {
    await notices.deleteWebhook(principalOf(req));
    res.status(204).end();
  });

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
      summary:
        'Deliver every new notice as a POST signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>; docs/webhooks.md), retried with exponential backoff. The URL must pass the destination policy (public addresses only, https unless the operator allows http, no redirects followed)',
      roles: ['admin'],
      body: s.webhookBody,
      responses: { 200: { description: 'Set (a secret given is never returned; a generated one is, this once)', schema: s.webhook } },
      errors: { 400: 'VALIDATION_FAILED, or DESTINATION_REFUSED: the URL may not be contacted (details.reason: scheme, credentials, address, unresolvable, invalid_url)' },
    },
    {
      method: 'post',
      path: '/v1/webhooks/secret',
      summary: 'Rotate the signing secret: a new one (returned this once) signs from now on, and the previous one also signs for overlapSeconds (two signatures per delivery)',
      roles: ['admin'],
      body: s.rotateBody,
      responses: { 200: { description: 'Rotated', schema: s.rotated } },
      errors: { 404: 'NOT_FOUND: no webhook is set' },
    },
    { method: 'get', path: '/v1/webhooks', summary: "The organization's webhook and its latest deliveries with every attempt's outcome class", roles: ['admin'], responses: { 200: { description: 'Webhook', schema: s.deliveries } } },
    {
      method: 'post',
      path: '/v1/webhooks/test',
      summary:
        "Send a test delivery to the organization's webhook now, through the destination policy and signed like a notice (body {test: true, id, at, organization}, header X-FaceMatch-Test: true); not queued, not retried. Audited (webhook.tested)",
      roles: ['admin'],
      responses: { 200: { description: 'What came of it', schema: z.object({ delivered: z.boolean(), outcome: z.string().describe('what the test came to: an outcome class as in the delivery log, never the receiver\'s status line or body') }) } },
      errors: { 404: 'NOT_FOUND: no webhook is set' },
    },
    { method: 'delete', path: '/v1/webhooks', summary: 'Remove the webhook (pending deliveries are marked failed; notices stay in the inbox)', roles: ['admin'], responses: { 204: { description: 'Removed' } } },
  );
  return { notifications: n, webhooks: w };
}
