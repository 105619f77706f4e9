import { Router } from 'express';
import { z } from 'zod';
import type { ReviewService } from './review.service';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import * as s from './review.dto';
import { uuidParam } from '../../platform/http/fields';
import { parse } from '../../platform/http/validate';

/**
 * `searches` is mounted beside the searches router at /v1/searches (review decisions on one search);
 * `queue` at /v1/reviews (the reviewer's work queue).
 */
export function reviewsRouter(deps: { reviews: ReviewService }, openapi: OpenApi): { searches: Router; queue: Router } {
  const r = Router();
  const q = Router();
  q.get('/queue', requireRole('reviewer'), async (req, res) => {
    const query = parse(s.queueQuery, req.query);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.reviews.queue(principalOf(req), query));
  });

  q.get('/queue/searches', requireRole('reviewer'), async (req, res) => {
    const query = parse(s.queueSearchesQuery, req.query);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await deps.reviews.queueSearches(principalOf(req), query));
  });

  r.post('/:id/reviews', requireRole('reviewer'), async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    const body = parse(s.reviewBody, req.body);
    res.status(201).json(await deps.reviews.record(principalOf(req), id, body));
  });

  openapi.add(
    {
      method: 'post',
      path: '/v1/searches/{id}/reviews',
      summary:
        'Record a review decision on one candidate. 400 if (faceIndex, subjectId) is not a candidate of the search, 403 on a search the same key ran, 404 for another organization\'s search, 409 when this key already decided on this candidate. Four-eyes (review.model, docs/OVERSIGHT.md): confirmed needs two different holders and more confirmations than rejections; more rejections than confirmations is rejected (a first rejection closes a candidate nobody confirmed); as many of each is disputed, decided by a further reviewer.',
      tag: 'reviews',
      roles: ['reviewer'],
      body: s.reviewBody,
      errors: { 409: 'CONFLICT: this key already decided on this candidate' },
      responses: { 201: { description: 'Recorded, with the candidate\'s review state after it and its audit event', schema: s.reviewRecorded } },
    },
  );
  openapi.add({
    method: 'get',
    path: '/v1/reviews/queue',
    summary:
      "The caller's review work queue, oldest search first: candidates of visible 1:N searches not run by the caller's holder (any of their keys), not yet decided by that holder, and still open (neither confirmed nor rejected: pending, awaiting a second confirmation, disputed or inconclusive). Blind: items carry no other reviewer's decision. Probe face crop: GET /v1/searches/{id}/faces/{faceIndex}/image; candidate crop: GET /v1/subjects/{subjectId}/faces/{faceId}/image.",
    roles: ['reviewer'],
    query: s.queueQuery,
    responses: { 200: { description: 'A page of candidates', schema: z.object({ items: z.array(s.queueItem), nextCursor: z.string().nullable() }) } },
  });
  openapi.add({
    method: 'get',
    path: '/v1/reviews/queue/searches',
    summary:
      "The caller's review queue grouped search → probe face → candidates, a page of searches at a time: sorted (oldest waiting, newest, strongest candidate first) and filtered (state, case, watchlist, organization). Not searches run by the caller's holder. Blind: undecided candidates show no decision of anyone (state blind, or disputed when reviewers disagree). Crops: GET /v1/searches/{id}/faces/{faceIndex}/image and …/candidates/{rank}/image.",
    roles: ['reviewer'],
    query: s.queueSearchesQuery,
    responses: { 200: { description: 'A page of searches', schema: z.object({ items: z.array(s.queueSearch), nextCursor: z.string().nullable() }) } },
  });
  return { searches: r, queue: q };
}
