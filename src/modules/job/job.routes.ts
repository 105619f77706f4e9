import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import { uuidParam } from '../../platform/http/fields';
import { requireVideo, videoUpload } from '../../platform/http/upload';
import { parse, requirePurpose } from '../../platform/http/validate';
import type { JobService } from './job.service';
import type { JobFiles } from './job-files';
import { jobUpload, uploadedParts, type JobUploadLimits } from './job-upload';
import * as s from './job.dto';

/** Set by the route before the upload: the new job's id, which names its folder. */
const JOB_ID = Symbol('jobId');
type WithJobId = Request & { [JOB_ID]?: string };

export function jobsRouter(deps: { jobs: JobService; files: JobFiles; limits: JobUploadLimits; videoBytes: number }, openapi: OpenApi): Router {
  const { jobs } = deps;
  const r = Router();

  r.post(
    '/',
    requireRole('searcher'),
    // A key at its limit is refused before its upload is read.
    async (req, _res, next) => {
      try {
        await jobs.checkActiveLimit(principalOf(req));
        (req as WithJobId)[JOB_ID] = randomUUID();
        next();
      } catch (e) {
        next(e);
      }
    },
    jobUpload((req) => deps.files.dirOf((req as WithJobId)[JOB_ID]!), deps.limits),
    async (req, res) => {
      const id = (req as WithJobId)[JOB_ID]!;
      try {
        requirePurpose(req);
        const f = parse(s.jobFields, req.body);
        const { photos, manifest } = await uploadedParts(req);
        const params = { ...f, topK: f.topK ?? (f.mode === 'screening' ? 5 : 20) };
        res.status(202).location(`/v1/jobs/${id}`).json(await jobs.create(principalOf(req), { id, params, photos, manifest }));
      } catch (e) {
        await deps.files.removeJob(id);
        throw e;
      }
    },
  );

  r.post(
    '/video',
    requireRole('searcher'),
    // No decoder, or a key at its limit: refused before the clip is read.
    async (req, _res, next) => {
      try {
        jobs.requireVideo();
        await jobs.checkActiveLimit(principalOf(req));
        next();
      } catch (e) {
        next(e);
      }
    },
    videoUpload(deps.videoBytes),
    async (req, res) => {
      requirePurpose(req);
      const { clientRef, ...f } = parse(s.videoJobFields, req.body);
      const video = requireVideo(req);
      const fileName = (req as Request & { file?: Express.Multer.File }).file?.originalname?.slice(0, 255) || null;
      const id = randomUUID();
      const params = { ...f, topK: f.topK ?? (f.mode === 'screening' ? 5 : 20) };
      res.status(202).location(`/v1/jobs/${id}`).json(await jobs.createVideo(principalOf(req), { id, params, video, fileName, clientRef: clientRef ?? null }));
    },
  );

  r.get('/', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const q = parse(s.listQuery, req.query);
    res.json({ items: await jobs.list(principalOf(req), q.limit) });
  });

  r.get('/:id', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.json(await jobs.get(principalOf(req), id));
  });

  r.get('/:id/results', requireRole('searcher', 'reviewer', 'auditor'), async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    const q = parse(s.resultsQuery, req.query);
    const p = principalOf(req);
    if (q.format === 'json') return void res.json(await jobs.results(p, id, { after: q.cursor ? Number(q.cursor) : 0, limit: q.limit }));
    // The first item is read before the headers go out, so an unknown job is still an ordinary 404.
    const it = jobs.allResults(p, id)[Symbol.asyncIterator]();
    let next = await it.next();
    res.status(200).type('application/x-ndjson').setHeader('Content-Disposition', `attachment; filename="job-${id}.ndjson"`);
    res.setHeader('Cache-Control', 'no-store');
    try {
      for (; !next.done; next = await it.next()) {
        if (!res.write(`${JSON.stringify(next.value)}\n`)) await new Promise((resolve) => res.once('drain', resolve));
      }
    } catch {
      // Headers are sent: the download ends short (no final newline-terminated marker line), which a client sees.
      res.destroy();
      return;
    }
    res.end();
  });

  r.post('/:id/cancel', requireRole('searcher'), async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.json(await jobs.cancel(principalOf(req), id));
  });

  const reason = 'PURPOSE_REQUIRED: no purpose (details.missing also names caseRef when it is missing too); CASE_REF_REQUIRED: a purpose but no caseRef';
  openapi.add(
    {
      method: 'post',
      path: '/v1/jobs',
      summary:
        'Submit a batch screening job (docs/batch-screening.md): photos in multipart field `images` (one part each, up to SCREENING_JOB_MAX_ITEMS and SCREENING_JOB_MAX_BYTES in all, each up to MAX_UPLOAD_BYTES), an optional `manifest` file (NDJSON lines {"file", "clientRef"} or CSV with a `file` and optional `clientRef` column; `file` is the uploaded file name), and the search fields of POST /v1/searches (purpose and caseRef required, checked against the purpose policy now and for every item). Each item is searched in the background as one POST /v1/searches by this key (its own stored, audited search). Manifest rows that are not valid or name no uploaded file, photos no row names and oversized photos become failed items with their code (nothing is dropped silently). 429 RATE_LIMITED when this key already has SCREENING_JOB_MAX_ACTIVE_PER_KEY jobs queued or running.',
      roles: ['searcher'],
      multipart: s.jobFields,
      file: { name: 'images', description: 'one part per photo (JPEG, PNG or WebP); plus optionally one `manifest` part (NDJSON or CSV)' },
      responses: { 202: { description: 'The job, queued; Location names it', schema: s.jobView } },
      errors: {
        400: `${reason}; PURPOSE_NOT_ALLOWED: the purpose policy refuses the purpose; UNKNOWN_WATCHLIST: a named watchlist the caller cannot search; VALIDATION_FAILED: no photo, a manifest that is not NDJSON or CSV (no rows, no \`file\` column, not UTF-8), or any other field`,
        413: 'PAYLOAD_TOO_LARGE: more than SCREENING_JOB_MAX_ITEMS photos (or manifest rows), over SCREENING_JOB_MAX_BYTES in all, or a manifest over SCREENING_JOB_MANIFEST_MAX_BYTES; nothing is kept',
        429: 'RATE_LIMITED: too many requests, or this key has SCREENING_JOB_MAX_ACTIVE_PER_KEY jobs queued or running (Retry-After)',
      },
    },
    {
      method: 'post',
      path: '/v1/jobs/video',
      summary:
        'Search a video clip in the background (docs/video.md): the multipart `video` and the fields of POST /v1/searches/video (purpose and caseRef required), plus an optional `clientRef`. The clip is checked now as its search would check it (purpose policy, named watchlists, then the decoder\'s probe: container, video stream, VIDEO_MAX_SECONDS, VIDEO_MAX_PIXELS), so a bad clip is refused here with the code the synchronous route gives; then it waits under SCREENING_JOB_DIR and is searched by the screening job runner, as one POST /v1/searches/video by this key (stored, audited, reviewed like it). The job has one item; GET /v1/jobs/{id} shows its progress and GET /v1/jobs/{id}/results the search (faces[i] is track i). The clip is removed once its item is final. Counts toward SCREENING_JOB_MAX_ACTIVE_PER_KEY.',
      roles: ['searcher'],
      multipart: s.videoJobFields,
      file: { name: 'video', description: 'MP4, MOV, 3GP, Matroska or WebM (detected from the content), up to VIDEO_MAX_BYTES' },
      responses: { 202: { description: 'The job, queued; Location names it', schema: s.jobView } },
      errors: {
        400: `${reason}; PURPOSE_NOT_ALLOWED: the purpose policy refuses the purpose; UNKNOWN_WATCHLIST: a named watchlist the caller cannot search; VALIDATION_FAILED: no \`video\` file, an empty one, or any other field`,
        413: 'PAYLOAD_TOO_LARGE: the video is over VIDEO_MAX_BYTES; nothing is kept',
        415: 'UNSUPPORTED_MEDIA_TYPE: not a video this service reads (unreadable, truncated or corrupt container, another format)',
        422: 'VIDEO_NO_VIDEO_STREAM: no video stream (audio only); VIDEO_TOO_LONG: over VIDEO_MAX_SECONDS; VIDEO_TOO_LARGE: frames over VIDEO_MAX_PIXELS; VIDEO_DECODE_TIMEOUT, VIDEO_MEMORY_LIMIT: the probe ran over its bounds. Refusals found only while decoding (VIDEO_UNPROCESSABLE, NO_FACE) fail the item with that code instead',
        429: 'RATE_LIMITED: too many requests, or this key has SCREENING_JOB_MAX_ACTIVE_PER_KEY jobs queued or running (Retry-After)',
        501: 'DECODER_UNAVAILABLE: no video decoder (ffmpeg and ffprobe) was found at start',
      },
    },
    { method: 'get', path: '/v1/jobs', summary: "The organization's screening jobs, newest first, with their progress", roles: ['searcher', 'reviewer', 'auditor'], query: s.listQuery, responses: { 200: { description: 'Jobs', schema: z.object({ items: z.array(s.jobView) }) } } },
    { method: 'get', path: '/v1/jobs/{id}', summary: 'A screening job: status, item counts, rate and estimated time to completion', roles: ['searcher', 'reviewer', 'auditor'], responses: { 200: { description: 'The job', schema: s.jobView } } },
    {
      method: 'get',
      path: '/v1/jobs/{id}/results',
      summary: "A screening job's items in order, page by page (cursor = nextCursor), each with its status, error code, or search as GET /v1/searches/{id} shows it to the caller; `format=ndjson` downloads every item, one per line.",
      roles: ['searcher', 'reviewer', 'auditor'],
      query: s.resultsQuery,
      responses: { 200: { description: 'A page of items', schema: z.object({ items: z.array(s.jobItemView), nextCursor: z.string().nullable() }), alternatives: { 'application/x-ndjson': undefined } } },
    },
    {
      method: 'post',
      path: '/v1/jobs/{id}/cancel',
      summary: 'Cancel a queued or running job: pending items are never searched (cancelled); finished items keep their results. Audited.',
      roles: ['searcher'],
      responses: { 200: { description: 'The job, cancelled', schema: s.jobView } },
      errors: { 409: 'CONFLICT: the job is done or cancelled already' },
    },
  );
  return r;
}
