import type { Request } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import { CaseRefRequiredError, PurposeRequiredError } from '../../domain/errors';
import type { SearchService } from '../../domain/search.service';
import { mapSearchListItem, mapSearchResult, mapStoredSearch } from '../../domain/search-result';
import type { ProbeFaceService } from '../../domain/probe-face.service';
import { principalOf, requireRole } from '../auth';
import type { OpenApi } from '../openapi';
import * as s from '../schemas';
import { imageUpload, requireImage } from '../upload';
import { parse } from '../validate';

/** `purpose` and `caseRef` are checked before anything else: no search runs without a stated reason. */
function requirePurpose(req: Request) {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const missing = ['purpose', 'caseRef'].filter((k) => typeof body[k] !== 'string' || !(body[k] as string).trim());
  if (missing.includes('purpose')) throw new PurposeRequiredError(missing);
  if (missing.length) throw new CaseRefRequiredError();
}

const REASON_REQUIRED = 'PURPOSE_REQUIRED: no purpose (details.missing also names caseRef when it is missing too); CASE_REF_REQUIRED: a purpose but no caseRef';

export function searchesRouter(deps: { searches: SearchService; probeFaces: ProbeFaceService; uploadBytes: number }, openapi: OpenApi): { searches: Router; verify: Router } {
  const { searches } = deps;
  const r = Router();

  r.post('/', requireRole('searcher'), imageUpload(deps.uploadBytes), async (req, res) => {
    requirePurpose(req);
    const f = parse(s.searchFields, req.body);
    const image = requireImage(req);
    const result = await searches.search(principalOf(req), image, {
      purpose: f.purpose,
      caseRef: f.caseRef,
      mode: f.mode,
      topK: f.topK ?? (f.mode === 'screening' ? 5 : 20),
      minSimilarity: f.minSimilarity,
      maxFalseMatchRate: f.maxFalseMatchRate,
      watchlists: f.watchlists,
      categories: f.categories,
    });
    res.json(mapSearchResult(result));
  });

  r.get('/', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const q = parse(s.listSearchesQuery, req.query);
    const pageOf = await searches.list(principalOf(req), q);
    res.json({ items: pageOf.items.map(mapSearchListItem), nextCursor: pageOf.nextCursor });
  });

  r.get('/:id', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const { id } = parse(s.uuidParam, req.params);
    res.json(mapStoredSearch(await searches.get(principalOf(req), id)));
  });

  r.get('/:id/faces/:faceIndex/image', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const { id, faceIndex } = parse(s.probeFaceParams, req.params);
    const img = await deps.probeFaces.image(principalOf(req), id, faceIndex);
    res.setHeader('Cache-Control', 'no-store');
    res.type(img.mediaType).send(img.bytes);
  });

  r.get('/:id/faces/:faceIndex/candidates/:rank/image', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const { id, faceIndex, rank } = parse(s.candidateImageParams, req.params);
    const img = await deps.probeFaces.candidateImage(principalOf(req), id, faceIndex, rank);
    res.setHeader('Cache-Control', 'no-store');
    res.type(img.mediaType).send(img.bytes);
  });

  const v = Router();
  v.post('/', requireRole('searcher'), imageUpload(deps.uploadBytes), async (req, res) => {
    requirePurpose(req);
    const f = parse(s.verifyFields, req.body);
    const image = requireImage(req);
    res.json(mapSearchResult(await searches.verify(principalOf(req), image, f.subjectId, { purpose: f.purpose, caseRef: f.caseRef })));
  });

  openapi.add(
    {
      method: 'post',
      path: '/v1/searches',
      summary: 'Search every face of a probe photo against the gallery (1:N). purpose and caseRef are required (PURPOSE_REQUIRED, or CASE_REF_REQUIRED when only caseRef is missing).',
      roles: ['searcher'],
      multipart: s.searchFields,
      responses: { 200: { description: 'Ranked candidates per probe face, review flag, audit reference', schema: s.searchResult } },
      errors: { 400: `${REASON_REQUIRED}; UNKNOWN_WATCHLIST: a named watchlist the caller cannot search; VALIDATION_FAILED: any other field` },
    },
    { method: 'get', path: '/v1/searches', summary: "List the organization's searches", roles: ['searcher', 'reviewer', 'auditor'], query: s.listSearchesQuery, responses: { 200: { description: 'A page', schema: z.object({ items: z.array(s.searchListItem), nextCursor: z.string().nullable() }) } } },
    {
      method: 'get',
      path: '/v1/searches/{id}',
      summary: "A stored search (kind search) or verification (kind verify) with its reviews and each candidate's review state (another organization's search is 404). Blind review: for a reviewer key without the auditor role, other people's decisions on a candidate are withheld (review.state 'blind', reviews filtered) until that reviewer's holder has decided it.",
      roles: ['searcher', 'reviewer', 'auditor'],
      responses: { 200: { description: 'Stored result', schema: s.storedSearch } },
    },
    {
      method: 'get',
      path: '/v1/searches/{id}/faces/{faceIndex}/image',
      summary: 'The aligned crop (JPEG) of one probe face, kept encrypted for PROBE_RETENTION_DAYS after the search; 404 once purged. Same visibility as the search.',
      roles: ['searcher', 'reviewer', 'auditor'],
      responses: { 200: { description: 'JPEG bytes', contentType: 'image/jpeg' } },
    },
    {
      method: 'get',
      path: '/v1/searches/{id}/faces/{faceIndex}/candidates/{rank}/image',
      summary: "The enrolled face crop (JPEG) of one candidate of a stored search, for whoever may read the search (a searcher sees the faces its search proposed, not the gallery). 404 once the subject is erased.",
      roles: ['searcher', 'reviewer', 'auditor'],
      responses: { 200: { description: 'JPEG bytes', contentType: 'image/jpeg' } },
    },
    { method: 'post', path: '/v1/verify', summary: '1:1 verification of a probe against all templates of a subject (purpose and caseRef required)', roles: ['searcher'], multipart: s.verifyFields, responses: { 200: { description: 'Verification', schema: s.verifyResult } }, errors: { 400: `${REASON_REQUIRED}; VALIDATION_FAILED: any other field`, 404: 'NOT_FOUND: no such subject, or no template of it for the active model' } },
  );
  return { searches: r, verify: v };
}
