import { once } from 'node:events';
import { Router } from 'express';
import { z } from 'zod';
import type { AuditService } from '../../domain/audit.service';
import { principalOf, requireRole } from '../auth';
import type { OpenApi } from '../openapi';
import * as s from '../schemas';
import { parse } from '../validate';

/** /v1/audit: the chain for auditors. Non-`*` auditors list their organization's events only; verify/export/anchors need `*`. */
export function auditRouter(audit: AuditService, openapi: OpenApi): Router {
  const r = Router();
  r.use(requireRole('auditor'));

  r.get('/events', async (req, res) => {
    const q = parse(s.auditEventsQuery, req.query);
    res.json(await audit.events(principalOf(req), { ...q, cursor: q.cursor === undefined ? undefined : Number(q.cursor) }));
  });

  r.get('/verify', async (req, res) => {
    res.json(await audit.verify(principalOf(req)));
  });

  r.get('/export', async (req, res) => {
    const w = parse(s.auditWindowQuery, req.query);
    const events = audit.export(principalOf(req), w);
    // Pull the first event before answering, so authorization and database errors still produce a JSON error response.
    let next = await events.next();
    res.status(200).type('application/x-ndjson').setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Disposition', 'attachment; filename="facematch-audit.ndjson"');
    try {
      while (!next.done) {
        if (!res.write(`${JSON.stringify(next.value)}\n`)) await once(res, 'drain');
        next = await events.next();
      }
      res.end();
    } catch (e) {
      // Headers are gone: cut the stream so the client sees an incomplete download rather than a valid-looking short file.
      res.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  });

  r.get('/anchors', async (req, res) => {
    const { limit } = parse(s.anchorsQuery, req.query);
    res.json({ items: await audit.anchors(principalOf(req), limit) });
  });

  const auditor = ['auditor'];
  openapi.add(
    {
      method: 'get',
      path: '/v1/audit/events',
      summary: 'Audit events in seq order (cursor = seq of the last event). Auditors of an organization other than * see only events whose actor belongs to their organization.',
      roles: auditor,
      query: s.auditEventsQuery,
      responses: { 200: { description: 'A page', schema: z.object({ items: z.array(s.auditEvent), nextCursor: z.string().nullable() }) } },
    },
    { method: 'get', path: '/v1/audit/verify', summary: 'Recompute the whole hash chain from genesis (auditor of organization *; others 403)', roles: auditor, responses: { 200: { description: 'Result; ok:false names the first bad seq', schema: s.chainVerification } } },
    {
      method: 'get',
      path: '/v1/audit/export',
      summary: 'NDJSON stream, one event per line in seq order: the contiguous seq range of the events in [from, to). Verify offline with npm run verify-audit (auditor of organization *; others 403).',
      roles: auditor,
      query: s.auditWindowQuery,
      responses: { 200: { description: 'One AuditEvent JSON per line', schema: s.auditEvent, contentType: 'application/x-ndjson' } },
    },
    { method: 'get', path: '/v1/audit/anchors', summary: 'Stored anchors (chain head seq/hash) written by npm run audit:anchor, newest first (auditor of organization *)', roles: auditor, query: s.anchorsQuery, responses: { 200: { description: 'Anchors', schema: z.object({ items: z.array(s.auditAnchor) }) } } },
  );
  return r;
}
