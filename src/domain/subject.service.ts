import { createHash, randomUUID } from 'node:crypto';
import type { AuditRepo } from '../infra/db/audit.repo';
import type { Db } from '../infra/db/db';
import type { FaceRepo } from '../infra/db/face.repo';
import type { SubjectFields, SubjectFilter, SubjectRepo } from '../infra/db/subject.repo';
import type { ImageCipher } from '../infra/crypto/image-cipher';
import type { Queryable } from '../infra/db/db';
import type { WatchlistAccess } from './watchlist.service';
import { actorOf } from './actor';
import type { Principal } from './api-key';
import { page, decodeCursor } from './cursor';
import { ForbiddenError, LowQualityError, MultipleFacesError, NoFaceError, NotFoundError, UnsupportedMediaTypeError } from './errors';
import type { Box, FaceEngine } from './face.types';
import { sniffImageType } from './image-format';

export interface SubjectServiceDeps {
  db: Db;
  subjects: SubjectRepo;
  faces: FaceRepo;
  audit: AuditRepo;
  cipher: ImageCipher;
  engine: () => FaceEngine;
  enrolMinQuality: number;
  access: WatchlistAccess;
  clock?: () => Date;
  /** Where listings may read (a read replica within its lag bound, else the primary); everything else uses `db`. */
  reads?: () => Queryable;
}

/** Subject fields as clients send them: `watchlist` is a name or id of one of the caller's organization's watchlists. */
export type SubjectInput = Omit<SubjectFields, 'watchlistId'> & { watchlist: string };

/** Free text (legal basis, case reference, photo source) enters the audit chain only as a hash: the chain cannot be erased. */
const sha256 = (v: string | null) => (v === null ? null : createHash('sha256').update(v).digest('hex'));
/** The enrolment photo's hash, kept with its template: bulk enrolment recognises a photo already enrolled by it. */
const bytesSha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Gallery management: subjects, enrolment (one usable face → template + encrypted images), erasure with a receipt. */
export function createSubjectService(d: SubjectServiceDeps) {
  const now = d.clock ?? (() => new Date());
  const { db, subjects, faces, audit } = d;

  /** A subject on a watchlist the caller cannot read is "not found" (no existence leak). */
  const mustGet = async (q: Queryable, p: Principal, id: string) => {
    const s = await subjects.get(q, id);
    if (!s) throw new NotFoundError('Subject');
    try {
      await d.access.read(q, p, s.watchlistId);
    } catch (e) {
      if (e instanceof NotFoundError) throw new NotFoundError('Subject');
      throw e;
    }
    return s;
  };
  /** Only the owning organization changes a subject; a grantee that can see it gets 403, anyone else 404. */
  const mustOwn = async (q: Queryable, p: Principal, id: string) => {
    const s = await mustGet(q, p, id);
    const { access } = await d.access.read(q, p, s.watchlistId);
    if (access !== 'owner') throw new ForbiddenError('Only the organization that owns the watchlist may change its subjects.');
    return s;
  };

  return {
    async create(p: Principal, input: SubjectInput) {
      const { watchlist, ...fields } = input;
      return db.transaction(async (tx) => {
        const w = await d.access.ownedByRef(tx, p, watchlist);
        const s = await subjects.insert(tx, { id: randomUUID(), organization: w.organization, ...fields, watchlistId: w.id });
        await audit.append(tx, {
          type: 'subject.created',
          actor: actorOf(p),
          subjectIds: [s.id],
          payload: { watchlist: w.name, watchlistId: w.id, category: s.category, legalBasisSha256: sha256(s.legalBasis), caseRefSha256: sha256(s.caseRef), reviewBy: s.reviewBy },
        });
        return s;
      });
    },

    get: (p: Principal, id: string) => mustGet(db, p, id),

    async list(p: Principal, f: Omit<SubjectFilter, 'after' | 'visibleTo' | 'watchlistIds'> & { watchlist?: string; cursor?: string; due?: boolean }) {
      // Which watchlists the caller may read is decided on the primary (a revoked grant stops at once); the page may then come
      // from a replica, limited to those watchlists (a grant the replica has not replayed yet shows up within the lag bound).
      const watchlistIds = f.watchlist
        ? await d.access.readableByRefs(db, p, [f.watchlist])
        : d.reads && p.organization !== '*'
          ? await d.access.readableIds(db, p)
          : undefined;
      const rows = await subjects.list(d.reads?.() ?? db, {
        category: f.category,
        q: f.q,
        externalRef: f.externalRef,
        imageSha256: f.imageSha256,
        watchlistIds,
        visibleTo: { organization: p.organization, at: now() },
        dueBefore: f.due ? now().toISOString().slice(0, 10) : undefined,
        after: decodeCursor(f.cursor),
        limit: f.limit + 1,
      });
      return page(rows, f.limit);
    },

    async update(p: Principal, id: string, input: Partial<SubjectInput>) {
      return db.transaction(async (tx) => {
        await mustOwn(tx, p, id);
        const { watchlist, ...rest } = input;
        const patch: Partial<SubjectFields> = { ...rest, ...(watchlist !== undefined ? { watchlistId: (await d.access.ownedByRef(tx, p, watchlist)).id } : {}) };
        const s = await subjects.update(tx, id, patch);
        if (!s) throw new NotFoundError('Subject');
        // Field names only: values such as names and notes stay out of the immutable log (they must be erasable).
        await audit.append(tx, { type: 'subject.updated', actor: actorOf(p), subjectIds: [id], payload: { fields: Object.keys(input).sort() } });
        return s;
      });
    },

    /** Erasure: subject, templates and images removed in one transaction; the audit chain keeps a tombstone without biometric data. */
    async erase(p: Principal, id: string) {
      return db.transaction(async (tx) => {
        const s = await mustOwn(tx, p, id);
        const counts = await faces.countForSubject(tx, id);
        await subjects.delete(tx, id);
        const erasedAt = now().toISOString();
        const ev = await audit.append(tx, {
          type: 'subject.deleted',
          actor: actorOf(p),
          subjectIds: [id],
          payload: { watchlist: s.watchlist, watchlistId: s.watchlistId, category: s.category, facesRemoved: counts.faces, imagesRemoved: counts.images, erasedAt },
        });
        return { subjectId: id, facesRemoved: counts.faces, imagesRemoved: counts.images, erasedAt, auditHash: ev.hash };
      });
    },

    async enrolFace(p: Principal, subjectId: string, image: Buffer, source: string | null) {
      await mustOwn(db, p, subjectId);
      const mediaType = sniffImageType(image);
      if (!mediaType) throw new UnsupportedMediaTypeError();
      const engine = d.engine();
      const analyzed = await engine.analyze(image, { withCrops: true });
      if (analyzed.faces.length === 0) throw new NoFaceError();
      if (analyzed.faces.length > 1) throw new MultipleFacesError(analyzed.faces.length, analyzed.faces.map((f) => f.box));
      const face = analyzed.faces[0]!;
      if (face.quality.score < d.enrolMinQuality) throw new LowQualityError(face.quality.score, face.quality.issues, d.enrolMinQuality);

      const faceId = randomUUID();
      await db.transaction(async (tx) => {
        await mustOwn(tx, p, subjectId);
        await faces.insert(tx, { id: faceId, subjectId, modelId: engine.model.id, embedding: face.embedding, quality: face.quality, box: face.box, source, imageSha256: bytesSha256(image) });
        const seal = (plain: Buffer, variant: 'original' | 'crop') => d.cipher.sealFor(plain, `${faceId}:${variant}`);
        await faces.putImage(tx, { faceId, variant: 'original', mediaType, ...seal(image, 'original') });
        if (face.cropJpeg) await faces.putImage(tx, { faceId, variant: 'crop', mediaType: 'image/jpeg', ...seal(face.cropJpeg, 'crop') });
        await audit.append(tx, {
          type: 'face.enrolled',
          actor: actorOf(p),
          subjectIds: [subjectId],
          payload: {
            faceId,
            modelId: engine.model.id,
            imageSha256: analyzed.sha256,
            quality: { score: face.quality.score, issues: face.quality.issues },
            sourceSha256: sha256(source),
          },
        });
      });
      return {
        faceId,
        subjectId,
        quality: { score: face.quality.score, issues: face.quality.issues },
        box: face.box,
        model: engine.model.id,
      };
    },

    /**
     * Re-embeds one template with the configured model from its stored enrolment photo: the face whose box overlaps the
     * stored box most (IoU ≥ 0.3) becomes a new template of the current model, derived from the old one, with its own
     * encrypted copies of the photo and a new crop; the old template stays until the operator retires it. Returns null,
     * with the reason, when the photo no longer yields that face under the new model.
     */
    async reembedFace(p: Principal, old: { id: string; subjectId: string; modelId: string; box: Box; source: string | null }) {
      const stored = await faces.getImage(db, old.subjectId, old.id, 'original');
      if (!stored) return { faceId: null, reason: 'no stored enrolment photo' };
      const photo = d.cipher.open(stored, `${old.id}:original`);
      const engine = d.engine();
      const analyzed = await engine.analyze(photo, { withCrops: true });
      const best = analyzed.faces.map((f) => ({ f, overlap: iou(f.box, old.box) })).sort((a, b) => b.overlap - a.overlap)[0];
      if (!best || best.overlap < 0.3) return { faceId: null, reason: 'the enrolled face is not found in the photo by the new model' };
      const face = best.f;
      const faceId = randomUUID();
      await db.transaction(async (tx) => {
        await faces.insert(tx, { id: faceId, subjectId: old.subjectId, modelId: engine.model.id, embedding: face.embedding, quality: face.quality, box: face.box, source: old.source, derivedFrom: old.id, imageSha256: bytesSha256(photo) });
        const seal = (plain: Buffer, variant: 'original' | 'crop') => d.cipher.sealFor(plain, `${faceId}:${variant}`);
        await faces.putImage(tx, { faceId, variant: 'original', mediaType: stored.mediaType, ...seal(photo, 'original') });
        if (face.cropJpeg) await faces.putImage(tx, { faceId, variant: 'crop', mediaType: 'image/jpeg', ...seal(face.cropJpeg, 'crop') });
        await audit.append(tx, {
          type: 'face.reembedded',
          actor: actorOf(p),
          subjectIds: [old.subjectId],
          payload: { faceId, fromFaceId: old.id, fromModelId: old.modelId, modelId: engine.model.id, imageSha256: analyzed.sha256, quality: { score: face.quality.score, issues: face.quality.issues } },
        });
      });
      return { faceId, reason: null };
    },

    async listFaces(p: Principal, subjectId: string) {
      await mustGet(db, p, subjectId);
      return faces.listBySubject(db, subjectId);
    },

    async deleteFace(p: Principal, subjectId: string, faceId: string) {
      await db.transaction(async (tx) => {
        await mustOwn(tx, p, subjectId);
        const counts = await faces.countForSubject(tx, subjectId);
        if (!(await faces.delete(tx, subjectId, faceId))) throw new NotFoundError('Face');
        await audit.append(tx, { type: 'face.deleted', actor: actorOf(p), subjectIds: [subjectId], payload: { faceId, facesLeft: counts.faces - 1 } });
      });
    },

    async faceImage(p: Principal, subjectId: string, faceId: string, variant: 'original' | 'crop') {
      await mustGet(db, p, subjectId);
      const img = await faces.getImage(db, subjectId, faceId, variant);
      if (!img) throw new NotFoundError('Face image');
      return { mediaType: img.mediaType, bytes: d.cipher.open(img, `${faceId}:${variant}`) };
    },
  };
}

export type SubjectService = ReturnType<typeof createSubjectService>;

/** Intersection over union of two boxes (0 … 1). */
function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}
