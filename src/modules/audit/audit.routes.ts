import { once } from 'node:events';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { AppError, ForbiddenError } from '../../shared/errors';
import type { AuditService } from './audit.service';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import * as s from './audit.dto';
import { parse } from '../../platform/http/validate';
import type { CheckpointService } from './checkpoint.service';
import { csvLine, spreadsheetText } from '../../shared/csv';
import type { AuditEventInContext } from './audit.model';

/** Columns of the filtered CSV export: the event's own fields and its context (holder, purpose, case). */
const CSV_COLUMNS = ['seq', 'at', 'type', 'holder', 'organization', 'keyId', 'purpose', 'caseRef', 'searchId', 'subjectIds', 'hash', 'prevHash'];
const csvRow = (e: AuditEventInContext) =>
  csvLine(
    [
      String(e.seq), e.at, e.type, e.context.holder ?? '', e.actor.organization, e.actor.keyId ?? '', e.context.purpose ?? '', e.context.caseRef ?? '',
      e.searchId ?? '', e.subjectIds.join(' '), e.hash, e.prevHash,
    ].map(spreadsheetText),
  );

/**
 * Streams `lines` (the first is pulled before answering, so authorization and database errors still produce a JSON error). A
 * failure after the headers cuts the stream: the client sees an incomplete download rather than a valid-looking short file.
 */
async function stream(res: Response, contentType: string, file: string, lines: AsyncGenerator<string>, head = '') {
  let next = await lines.next();
  res.status(200).type(contentType).setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Disposition', `attachment; filename="${file}"`);
  try {
    if (head) res.write(head);
    while (!next.done) {
      if (!res.write(next.value)) await once(res, 'drain');
      next = await lines.next();
    }
    res.end();
  } catch (e) {
    res.destroy(e instanceof Error ? e : new Error(String(e)));
  }
}

async function* mapLines<T>(items: AsyncGenerator<T>, line: (t: T) => string): AsyncGenerator<string> {
  for await (const i of items) yield line(i);
}

/** /v1/audit: the chain for auditors. Non-`*` auditors list their organization's events only; verify/export/anchors need `*`. */
export function auditRouter(audit: AuditService, checkpoints: CheckpointService, openapi: OpenApi): Router {
  const r = Router();
  r.use(requireRole('auditor'));

  r.get('/events', async (req, res) => {
    const q = parse(s.auditEventsQuery, req.query);
    res.json(await audit.events(principalOf(req), { ...q, cursor: q.cursor === undefined ? undefined : Number(q.cursor) }));
  });

  r.get('/verify', async (req, res) => {
    res.json(await audit.verify(principalOf(req), parse(s.verifyQuery, req.query).expect));
  });

  r.post('/checkpoints', async (req, res) => {
    const p = principalOf(req);
    if (p.organization !== '*') throw new ForbiddenError('Checkpointing the audit chain needs an auditor key of organization *.');
    if (!checkpoints.configured) throw new AppError('CHECKPOINTS_NOT_CONFIGURED', 409, 'No checkpoint place is configured (AUDIT_CHECKPOINT_DIR, AUDIT_CHECKPOINT_URL or AUDIT_CHECKPOINT_COUNTERSIGNERS).');
    const out = await checkpoints.checkpoint();
    if (!out) throw new AppError('CONFLICT', 409, 'The audit chain is empty: there is no head to checkpoint.');
    res.status(201).json(out);
  });

  r.get('/export', async (req, res) => {
    const w = parse(s.auditWindowQuery, req.query);
    await stream(res, 'application/x-ndjson', 'facematch-audit.ndjson', mapLines(audit.export(principalOf(req), w), (e) => `${JSON.stringify(e)}\n`));
  });

  r.get('/events/export', async (req, res) => {
    const { format, ...q } = parse(s.auditEventsExportQuery, req.query);
    const events = audit.exportEvents(principalOf(req), q);
    if (format === 'csv') await stream(res, 'text/csv; charset=utf-8', 'facematch-audit.csv', mapLines(events, csvRow), csvLine(CSV_COLUMNS));
    else await stream(res, 'application/x-ndjson', 'facematch-audit-events.ndjson', mapLines(events, (e) => `${JSON.stringify(e)}\n`));
  });

  r.get('/reads', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await audit.reads(principalOf(req), parse(s.auditWindowQuery, req.query)));
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
      summary:
        "Audit events in seq order, or newest first with order=desc (cursor = seq of the last event), filtered by time, actor key, holder, organization, case, type, subject or search; each with its context (the acting key's holder, the search's purpose and case reference). Auditors of an organization other than * see only events whose actor belongs to their organization.",
      roles: auditor,
      query: s.auditEventsQuery,
      responses: { 200: { description: 'A page', schema: z.object({ items: z.array(s.auditEventInContext), nextCursor: z.string().nullable() }) } },
    },
    {
      method: 'get',
      path: '/v1/audit/events/export',
      summary:
        'Every event the filters of GET /v1/audit/events select, in seq order, with its context: NDJSON (one event per line) or CSV (format=csv; text a spreadsheet would run as a formula is prefixed with an apostrophe). Same visibility as /v1/audit/events. Not a chain segment: events outside the filter are left out, so verify with /v1/audit/export.',
      roles: auditor,
      query: s.auditEventsExportQuery,
      responses: { 200: { description: 'One event with its context per line', schema: s.auditEventInContext, contentType: 'application/x-ndjson', alternatives: { 'text/csv': z.string() } } },
    },
    {
      method: 'get',
      path: '/v1/audit/verify',
      summary:
        'Recompute the whole hash chain from genesis and check it against the stored anchors, the audit.anchored events, the signed checkpoints in AUDIT_CHECKPOINT_DIR and any expect=seq:hash (auditor of organization *; others 403)',
      roles: auditor,
      query: s.verifyQuery,
      responses: { 200: { description: 'Result; ok:false names the first bad seq and why', schema: s.chainVerification } },
    },
    {
      method: 'post',
      path: '/v1/audit/checkpoints',
      summary:
        'Sign the chain head now (Ed25519 key of /.well-known/facematch/keys) and write it to every configured place: AUDIT_CHECKPOINT_DIR, AUDIT_CHECKPOINT_URL, countersigning partner deployments. Refused (409 AUDIT_CHAIN_BROKEN) when the chain does not verify since the previous checkpoint (auditor of organization *)',
      roles: auditor,
      responses: { 201: { description: 'The checkpoint, its countersignatures and the outcome per place', schema: s.checkpointOutcome } },
      errors: { 409: 'AUDIT_CHAIN_BROKEN (not signed: the chain does not extend the previous checkpoint), CHECKPOINTS_NOT_CONFIGURED, or CONFLICT (empty chain)' },
    },
    {
      method: 'get',
      path: '/v1/audit/export',
      summary: 'NDJSON stream, one event per line in seq order: the contiguous seq range of the events in [from, to). Verify offline with npm run verify-audit (auditor of organization *; others 403).',
      roles: auditor,
      query: s.auditWindowQuery,
      responses: { 200: { description: 'One AuditEvent JSON per line', schema: s.auditEvent, contentType: 'application/x-ndjson' } },
    },
    {
      method: 'get',
      path: '/v1/audit/reads',
      summary:
        'Statistics of reads of biometric data and subject records in [from, to): the read.* audit events (subject listings and records, enrolled images, probe-face and candidate crops, case files; one event per request) counted per kind, reader organization and holder, and per data owner. Auditors of * see every organization; others their own readers and the reads of their own data.',
      roles: auditor,
      query: s.auditWindowQuery,
      responses: { 200: { description: 'Counts', schema: s.readStats } },
    },
    { method: 'get', path: '/v1/audit/anchors', summary: 'Stored anchors (chain head seq/hash) written by npm run audit:anchor, newest first (auditor of organization *)', roles: auditor, query: s.anchorsQuery, responses: { 200: { description: 'Anchors', schema: z.object({ items: z.array(s.auditAnchor) }) } } },
  );
  return r;
}
