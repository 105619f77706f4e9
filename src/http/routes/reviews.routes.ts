import { Router } from 'express';
import { z } from 'zod';
import type { ReportService } from '../../domain/report';
import type { ReviewService } from '../../domain/review.service';
import { principalOf, requireRole } from '../auth';
import type { OpenApi } from '../openapi';
import * as s from '../schemas';
import { parse } from '../validate';

/**
 * `searches` is mounted beside the searches router at /v1/searches (review decisions and the case-file report of one search);
 * `queue` at /v1/reviews (the reviewer's work queue).
 */
export function reviewsRouter(deps: { reviews: ReviewService; reports: ReportService }, openapi: OpenApi): { searches: Router; queue: Router } {
  const r = Router();
  const q = Router();
  q.get('/queue', requireRole('reviewer'), async (req, res) => {
    const query = parse(s.queueQuery, req.query);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.reviews.queue(principalOf(req), query));
  });

  r.post('/:id/reviews', requireRole('reviewer'), async (req, res) => {
    const { id } = parse(s.uuidParam, req.params);
    const body = parse(s.reviewBody, req.body);
    res.status(201).json(await deps.reviews.record(principalOf(req), id, body));
  });

  r.get('/:id/report', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const { id } = parse(s.uuidParam, req.params);
    const { format } = parse(s.reportQuery, req.query);
    res.setHeader('Cache-Control', 'no-store');
    if (format === 'html') {
      // Self-contained and script-free: faces are data: URIs; every other load and every script is forbidden.
      res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'");
      res.type('text/html; charset=utf-8').send(await deps.reports.html(principalOf(req), id));
    } else {
      res.json(await deps.reports.report(principalOf(req), id));
    }
  });

  openapi.add(
    {
      method: 'post',
      path: '/v1/searches/{id}/reviews',
      summary:
        'Record a review decision on one candidate. 400 if (faceIndex, subjectId) is not a candidate of the search, 403 on a search the same key ran, 404 for another organization\'s search, 409 when this key already decided on this candidate. Confirmed needs two different reviewer keys; one rejection blocks.',
      tag: 'reviews',
      roles: ['reviewer'],
      body: s.reviewBody,
      errors: { 409: 'CONFLICT: this key already decided on this candidate' },
      responses: { 201: { description: 'Recorded, with the candidate\'s review state after it and its audit event', schema: s.reviewRecorded } },
    },
    {
      method: 'get',
      path: '/v1/searches/{id}/report',
      summary: 'Case-file report: parameters, probe hash, all candidates with scores and FMRs, all reviews and review states, and the audit events (seq, hash) covering them. format=html gives a printable self-contained page.',
      tag: 'reviews',
      roles: ['searcher', 'reviewer', 'auditor'],
      query: s.reportQuery,
      responses: {
        200: {
          description: 'Report (JSON, or with format=html a self-contained, script-free text/html page)',
          schema: z.object({ reportVersion: z.literal(1) }).passthrough(),
          alternatives: { 'text/html': z.string() },
        },
      },
    },
  );
  openapi.add({
    method: 'get',
    path: '/v1/reviews/queue',
    summary:
      "The caller's review work queue, oldest search first: candidates of visible 1:N searches not run by the caller's holder (any of their keys), not yet decided by that holder, and still open (not rejected, fewer than two confirming holders). Blind: items carry no other reviewer's decision. Probe face crop: GET /v1/searches/{id}/faces/{faceIndex}/image; candidate crop: GET /v1/subjects/{subjectId}/faces/{faceId}/image.",
    roles: ['reviewer'],
    query: s.queueQuery,
    responses: { 200: { description: 'A page of candidates', schema: z.object({ items: z.array(s.queueItem), nextCursor: z.string().nullable() }) } },
  });
  return { searches: r, queue: q };
}
