import type { Request } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import type { SearchParams, SearchService } from './search.service';
import { mapSearchListItem, mapSearchResult, mapStoredSearch, type FederatedSearch } from './search.model';
import type { ProbeFaceService } from './probe-face.service';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import * as s from './search.dto';
import { uuidParam } from '../../platform/http/fields';
import { imageUpload, requireImage, requireVideo, videoUpload } from '../../platform/http/upload';
import { parse, requirePurpose } from '../../platform/http/validate';

/** The search parameters of a still's or a video's form fields (topK defaults by mode). */
function paramsOf(f: z.output<typeof s.videoSearchFields>): SearchParams {
  return {
    purpose: f.purpose,
    caseRef: f.caseRef,
    mode: f.mode,
    topK: f.topK ?? (f.mode === 'screening' ? 5 : 20),
    minSimilarity: f.minSimilarity,
    maxFalseMatchRate: f.maxFalseMatchRate,
    watchlists: f.watchlists,
    categories: f.categories,
    detail: f.detail,
  };
}

const REASON_REQUIRED = 'PURPOSE_REQUIRED: no purpose (details.missing also names caseRef when it is missing too); CASE_REF_REQUIRED: a purpose but no caseRef';

export function searchesRouter(
  deps: { searches: SearchService; probeFaces: ProbeFaceService; uploadBytes: number; videoBytes: number; federation?: FederatedSearch },
  openapi: OpenApi,
): { searches: Router; verify: Router } {
  const { searches } = deps;
  const r = Router();

  r.post('/', requireRole('searcher'), imageUpload(deps.uploadBytes), async (req, res) => {
    requirePurpose(req);
    const f = parse(s.searchFields, req.body);
    const image = requireImage(req);
    const params = paramsOf(f);
    const result = f.partners?.length && deps.federation ? await deps.federation.search(principalOf(req), image, params, f.partners) : await searches.search(principalOf(req), image, params);
    res.json(mapSearchResult(result));
  });

  // Without a decoder the answer is 501 before the upload is read.
  r.post('/video', requireRole('searcher'), (_req, _res, next) => next(searches.requireVideo()), videoUpload(deps.videoBytes), async (req, res) => {
    requirePurpose(req);
    const f = parse(s.videoSearchFields, req.body);
    const video = requireVideo(req);
    res.json(mapSearchResult(await searches.searchVideo(principalOf(req), video, paramsOf(f))));
  });

  r.get('/', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const q = parse(s.listSearchesQuery, req.query);
    const pageOf = await searches.list(principalOf(req), q);
    res.json({ items: pageOf.items.map(mapSearchListItem), nextCursor: pageOf.nextCursor });
  });

  r.get('/:id', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.json(mapStoredSearch(await searches.read(principalOf(req), id)));
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
      summary:
        'Search every face of a probe photo against the gallery (1:N). purpose and caseRef are required (PURPOSE_REQUIRED, or CASE_REF_REQUIRED when only caseRef is missing). With `partners`, partner deployments are asked too, each within FEDERATION_TIMEOUT_MS: the local result never waits longer, and each partner has its status (ok, refused, timeout, unreachable).',
      roles: ['searcher'],
      multipart: s.searchFields,
      responses: { 200: { description: 'Ranked candidates per probe face, review flag, audit reference', schema: s.searchResult } },
      errors: {
        400: `${REASON_REQUIRED}; UNKNOWN_WATCHLIST: a named watchlist the caller cannot search; UNKNOWN_PARTNER: a named partner deployment is not registered; VALIDATION_FAILED: any other field`,
      },
    },
    {
      method: 'post',
      path: '/v1/searches/video',
      summary:
        'Search a video clip (MP4/MOV/3GP or Matroska/WebM; H.264, HEVC, VP8, VP9, AV1 or MPEG-4) against the gallery. Frames are sampled at VIDEO_SAMPLE_FPS and at scene changes (VIDEO_SCENE_THRESHOLD, at most VIDEO_SCENE_MAX_FRAMES), faces detected in each and tracked across frames; the best-quality face of each track is searched like one probe face of POST /v1/searches (same roles, purpose policy, audit, review and probe-face retention: faces[i] is track i, with its time range in `track`). Limits: VIDEO_MAX_BYTES, VIDEO_MAX_SECONDS, VIDEO_MAX_PIXELS, VIDEO_DECODE_TIMEOUT_MS, VIDEO_DECODE_MEMORY_MB. The decoder (ffmpeg/ffprobe) runs as a separate process; without one this route answers 501.',
      roles: ['searcher'],
      multipart: s.videoSearchFields,
      file: { name: 'video', description: 'MP4, MOV, 3GP, Matroska or WebM (detected from the content, not the name or media type)' },
      responses: { 200: { description: 'One probe face per face track: time range, ranked candidates, review flag, audit reference', schema: s.videoSearchResult } },
      errors: {
        400: `${REASON_REQUIRED}; UNKNOWN_WATCHLIST: a named watchlist the caller cannot search; VALIDATION_FAILED: no \`video\` file, an empty one, or any other field`,
        413: 'PAYLOAD_TOO_LARGE: the video is over VIDEO_MAX_BYTES',
        415: 'UNSUPPORTED_MEDIA_TYPE: not a video this service reads (unreadable, truncated or corrupt container, another format, or a codec it does not decode)',
        422: 'VIDEO_NO_VIDEO_STREAM: no video stream (audio only); VIDEO_TOO_LONG: over VIDEO_MAX_SECONDS; VIDEO_TOO_LARGE: frames over VIDEO_MAX_PIXELS; VIDEO_UNPROCESSABLE: decoding failed or gave no frame; VIDEO_DECODE_TIMEOUT: probing and decoding ran over VIDEO_DECODE_TIMEOUT_MS (the decoder was killed); VIDEO_MEMORY_LIMIT: the decoder needed more than VIDEO_DECODE_MEMORY_MB of address space; NO_FACE: no face in any sampled frame',
        501: 'DECODER_UNAVAILABLE: this deployment found no ffmpeg/ffprobe at start (or no prlimit while VIDEO_DECODE_MEMORY_MB is set)',
      },
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
