import { Router } from 'express';
import { z } from 'zod';
import type { SubjectService } from './subject.service';
import { principalOf, requireRole } from '../../platform/http/auth';
import type { OpenApi } from '../../platform/http/openapi';
import * as s from './subject.dto';
import { uuidParam } from '../../platform/http/fields';
import { erasureReceipt } from './gallery.model';
import { imageUpload, requireImage } from '../../platform/http/upload';
import { parse } from '../../platform/http/validate';

const orNull = <T>(v: T | null | undefined): T | null => v ?? null;

export function subjectsRouter(deps: { subjects: SubjectService; uploadBytes: number }, openapi: OpenApi): Router {
  const { subjects } = deps;
  const r = Router();
  const manage = requireRole('enroller', 'admin');
  const read = requireRole('enroller', 'admin', 'reviewer', 'auditor');
  const images = requireRole('enroller', 'admin', 'reviewer', 'auditor');

  r.post('/', manage, async (req, res) => {
    const b = parse(s.subjectBody, req.body);
    const created = await subjects.create(principalOf(req), {
      displayName: b.displayName,
      category: b.category,
      watchlist: b.watchlist,
      legalBasis: b.legalBasis,
      externalRef: orNull(b.externalRef),
      caseRef: orNull(b.caseRef),
      notes: orNull(b.notes),
      reviewBy: orNull(b.reviewBy),
    });
    res.status(201).json(created);
  });

  r.get('/', read, async (req, res) => {
    const q = parse(s.listSubjectsQuery, req.query);
    res.json(
      await subjects.list(principalOf(req), { watchlist: q.watchlist, category: q.category, q: q.q, externalRef: q.externalRef, imageSha256: q.imageSha256, due: q.due === 'true', cursor: q.cursor, limit: q.limit }),
    );
  });

  r.get('/:id', read, async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await subjects.record(principalOf(req), id));
  });

  r.patch('/:id', manage, async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.json(await subjects.update(principalOf(req), id, parse(s.subjectPatch, req.body)));
  });

  r.delete('/:id', manage, async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    res.json(await subjects.erase(principalOf(req), id));
  });

  r.post('/:id/faces', manage, imageUpload(deps.uploadBytes), async (req, res) => {
    const { id } = parse(uuidParam, req.params);
    const fields = parse(s.enrolFields, req.body ?? {});
    const image = requireImage(req);
    const choice = fields.faceIndex !== undefined ? { faceIndex: fields.faceIndex } : fields.box ? { box: fields.box } : undefined;
    res.status(201).json(await subjects.enrolFace(principalOf(req), id, image, fields.source ?? null, { choice, acceptQuality: fields.acceptQuality === 'true' }));
  });

  r.get('/:id/faces/:faceId/image', images, async (req, res) => {
    const { id, faceId } = parse(s.faceParams, req.params);
    const { variant } = parse(s.imageQuery, req.query);
    const img = await subjects.downloadImage(principalOf(req), id, faceId, variant);
    res.setHeader('Cache-Control', 'no-store');
    res.type(img.mediaType).send(img.bytes);
  });

  r.delete('/:id/faces/:faceId', manage, async (req, res) => {
    const { id, faceId } = parse(s.faceParams, req.params);
    await subjects.deleteFace(principalOf(req), id, faceId);
    res.status(204).end();
  });

  const roles = { manage: ['enroller', 'admin'], read: ['enroller', 'admin', 'reviewer', 'auditor'] };
  openapi.add(
    { method: 'post', path: '/v1/subjects', summary: "Create a subject on one of the caller's organization's watchlists (name or id; UNKNOWN_WATCHLIST otherwise)", roles: roles.manage, body: s.subjectBody, responses: { 201: { description: 'Created', schema: s.subject } } },
    { method: 'get', path: '/v1/subjects', summary: 'List subjects (due=true: past their review date; externalRef, imageSha256: exact look-ups for bulk enrolment)', roles: roles.read, query: s.listSubjectsQuery, responses: { 200: { description: 'A page', schema: z.object({ items: z.array(s.subject), nextCursor: z.string().nullable() }) } } },
    { method: 'get', path: '/v1/subjects/{id}', summary: 'A subject and its enrolled faces', roles: roles.read, responses: { 200: { description: 'Subject', schema: s.subjectWithFaces } } },
    { method: 'patch', path: '/v1/subjects/{id}', summary: 'Update a subject', roles: roles.manage, body: s.subjectPatch, responses: { 200: { description: 'Updated', schema: s.subject } } },
    { method: 'delete', path: '/v1/subjects/{id}', summary: 'Erase a subject, its templates and images; returns an erasure receipt', roles: roles.manage, responses: { 200: { description: 'Erasure receipt', schema: erasureReceipt } } },
    {
      method: 'post',
      path: '/v1/subjects/{id}/faces',
      summary:
        'Enrol one face: the only face, the dominant one (ENROL_DOMINANT_RATIO), or the one chosen by faceIndex or box; below ENROL_MIN_QUALITY only with acceptQuality=true (NO_FACE, MULTIPLE_FACES, LOW_QUALITY otherwise)',
      roles: roles.manage,
      multipart: s.enrolFields,
      responses: { 201: { description: 'Enrolled', schema: s.enrolResult } },
    },
    { method: 'get', path: '/v1/subjects/{id}/faces/{faceId}/image', summary: 'The enrolled image (decrypted): variant=crop|original', roles: roles.read, query: s.imageQuery, responses: { 200: { description: 'Image bytes (the crop is JPEG; the original keeps its format)', contentType: 'image/jpeg', alternatives: { 'image/png': undefined, 'image/webp': undefined } } } },
    { method: 'delete', path: '/v1/subjects/{id}/faces/{faceId}', summary: 'Delete one face template and its images', roles: roles.manage, responses: { 204: { description: 'Deleted' } } },
  );
  return r;
}
