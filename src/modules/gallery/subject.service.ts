import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../../shared/db';
import type { FaceRepo } from './face.repo';
import type { EnrolmentHook, Subject, SubjectFields, SubjectFilter } from './gallery.model';
import type { SubjectRepo } from './subject.repo';
import type { ImageCipher } from '../../platform/crypto/image-cipher';
import type { Queryable } from '../../shared/db';
import type { WatchlistAccess } from '../watchlist/watchlist.model';
import { actorOf, type AuditLog } from '../audit/audit.model';
import type { Principal } from '../../shared/principal';
import { page, decodeCursor } from '../../shared/cursor';
import { ForbiddenError, NotFoundError, UnsupportedMediaTypeError } from '../../shared/errors';
import type { Box, FaceEngine } from '../../shared/face.types';
import { decideEnrolment, iou, type EnrolGateRules, type FaceChoice } from './enrolment-gate';
import { sniffImageType } from '../../shared/image-format';
import type { RedactionCounts } from '../oversight/oversight.model';

export interface SubjectServiceDeps {
  db: Db;
  subjects: SubjectRepo;
  faces: FaceRepo;
  audit: AuditLog;
  cipher: ImageCipher;
  engine: () => FaceEngine;
  /** The enrolment gate's rules (ENROL_MIN_QUALITY, ENROL_QUALITY_FLOOR, ENROL_DOMINANT_RATIO): enrolment-gate.ts. */
  enrolRules: EnrolGateRules;
  access: WatchlistAccess;
  clock?: () => Date;
  /** Where listings may read (a read replica within its lag bound, else the primary); everything else uses `db`. */
  reads?: () => Queryable;
  /**
   * Erasure's redaction of free text naming the subject in the searches it touched (oversight/redaction.ts states the rule),
   * run in the erasure's transaction under the audit append lock, before the subject row goes.
   */
  redact: (tx: Queryable, s: Subject, erasedAt: string) => Promise<RedactionCounts>;
  /** What a new template owes other modules (reverse screening): queued in the enrolment's transaction, run after it. */
  onEnrolled?: EnrolmentHook;
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

  /**
   * A subject record (and its faces and images) is for the owning organization and `*` only: on any other watchlist, granted
   * or not, it is "not found" (no existence leak). Grantees see what their own searches returned, through the search.
   */
  const mustGet = async (q: Queryable, p: Principal, id: string) => {
    const s = await subjects.get(q, id);
    if (!s || !(await d.access.readsSubjects(q, p, s.watchlistId))) throw new NotFoundError('Subject');
    return s;
  };
  /** Only the owning organization changes a subject; `*` (which reads it) gets 403, anyone else 404. */
  const mustOwn = async (q: Queryable, p: Principal, id: string) => {
    const s = await mustGet(q, p, id);
    const { access } = await d.access.read(q, p, s.watchlistId);
    if (access !== 'owner') throw new ForbiddenError('Only the organization that owns the watchlist may change its subjects.');
    return s;
  };
  /**
   * One `read.*` audit event for a request that read subject records or images (who read whose): ids and counts only, never
   * names, notes or query text. Appended before the data is answered: no audit, no read.
   */
  const audited = (p: Principal, type: 'read.subjects' | 'read.subject' | 'read.face_image', read: Subject[], payload: Record<string, unknown>) =>
    db.transaction((tx) =>
      audit.append(tx, {
        type,
        actor: actorOf(p),
        subjectIds: [...new Set(read.map((x) => x.id))],
        payload: { ...payload, owners: [...new Set(read.map((x) => x.organization))].sort(), watchlistIds: [...new Set(read.map((x) => x.watchlistId))].sort() },
      }, now()),
    );

  const openImage = async (subjectId: string, faceId: string, variant: 'original' | 'crop') => {
    const img = await faces.getImage(db, subjectId, faceId, variant);
    if (!img) throw new NotFoundError('Face image');
    return { mediaType: img.mediaType, bytes: d.cipher.open(img, `${faceId}:${variant}`) };
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

    /** Internal reads (no audit event: the caller's request records its own). */
    get: (p: Principal, id: string) => mustGet(db, p, id),

    /** GET /v1/subjects/:id: the record with its faces, audited as `read.subject`. */
    async record(p: Principal, id: string) {
      const subject = await mustGet(db, p, id);
      const faceList = await faces.listBySubject(db, id);
      await audited(p, 'read.subject', [subject], { faces: faceList.length });
      return { ...subject, faces: faceList };
    },

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
        visibleTo: { organization: p.organization },
        dueBefore: f.due ? now().toISOString().slice(0, 10) : undefined,
        after: decodeCursor(f.cursor),
        limit: f.limit + 1,
      });
      const out = page(rows, f.limit);
      // The filters by name only: `q` may be a person's name, and the chain cannot be erased.
      const filters = (['watchlist', 'category', 'q', 'externalRef', 'imageSha256', 'due', 'cursor'] as const).filter((k) => f[k] !== undefined && f[k] !== false);
      await audited(p, 'read.subjects', out.items, { count: out.items.length, filters });
      return out;
    },

    async update(p: Principal, id: string, input: Partial<SubjectInput>) {
      return db.transaction(async (tx) => {
        const before = await mustOwn(tx, p, id);
        const { watchlist, ...rest } = input;
        const target = watchlist !== undefined ? await d.access.ownedByRef(tx, p, watchlist) : null;
        const patch: Partial<SubjectFields> = { ...rest, ...(target ? { watchlistId: target.id } : {}) };
        const s = await subjects.update(tx, id, patch);
        if (!s) throw new NotFoundError('Subject');
        // Field names only: values such as names and notes stay out of the immutable log (they must be erasable). A move
        // between watchlists names both (ids and names, as subject.created and subject.deleted do): who may see the subject changed.
        const moved = target && target.id !== before.watchlistId
          ? { moved: { fromWatchlistId: before.watchlistId, fromWatchlist: before.watchlist, toWatchlistId: target.id, toWatchlist: target.name } }
          : {};
        await audit.append(tx, { type: 'subject.updated', actor: actorOf(p), subjectIds: [id], payload: { fields: Object.keys(input).sort(), ...moved } });
        return s;
      });
    },

    /**
     * Erasure: subject, templates and images removed in one transaction, and the free text naming the subject redacted from the
     * searches, reviews and notices it touched; the audit chain keeps a tombstone without biometric data (and the counts).
     */
    async erase(p: Principal, id: string) {
      return db.transaction(async (tx) => {
        await audit.lock(tx);
        const s = await mustOwn(tx, p, id);
        const counts = await faces.countForSubject(tx, id);
        const erasedAt = now().toISOString();
        const textRedacted = await d.redact(tx, s, erasedAt);
        await subjects.delete(tx, id);
        const ev = await audit.append(tx, {
          type: 'subject.deleted',
          actor: actorOf(p),
          subjectIds: [id],
          payload: { watchlist: s.watchlist, watchlistId: s.watchlistId, category: s.category, facesRemoved: counts.faces, imagesRemoved: counts.images, erasedAt, textRedacted },
        });
        return { subjectId: id, facesRemoved: counts.faces, imagesRemoved: counts.images, textRedacted, erasedAt, auditHash: ev.hash };
      });
    },

    /**
     * Enrols one face of the photo: the only one, the dominant one, or the one chosen by `faceIndex` / `box`; below the quality
     * gate only with `acceptQuality` (and never under the floor). The rules are enrolment-gate.ts's.
     */
    async enrolFace(p: Principal, subjectId: string, image: Buffer, source: string | null, opts: { choice?: FaceChoice; acceptQuality?: boolean } = {}) {
      const subject = await mustOwn(db, p, subjectId);
      const mediaType = sniffImageType(image);
      if (!mediaType) throw new UnsupportedMediaTypeError();
      const policy = (await d.access.owner(db, p, subject.watchlistId)).enrolment.acceptQuality;
      const engine = d.engine();
      const analyzed = await engine.analyze(image, { withCrops: true });
      const decision = decideEnrolment(analyzed.faces, d.enrolRules, { ...opts, policy });
      const face = analyzed.faces[decision.index]!;
      const { qualityOverruled, otherFaces } = decision;

      const faceId = randomUUID();
      await db.transaction(async (tx) => {
        const owned = await mustOwn(tx, p, subjectId);
        await faces.insert(tx, { id: faceId, subjectId, modelId: engine.model.id, embedding: face.embedding, quality: face.quality, box: face.box, source, imageSha256: bytesSha256(image), qualityOverruled });
        const owed = (await d.onEnrolled?.enrolled(tx, { faceId, watchlistId: owned.watchlistId, enrolledBy: actorOf(p), at: now() })) ?? {};
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
            // How the face was picked and how many others the photo holds (no boxes: where people stand is not the chain's).
            faceChosenBy: decision.by,
            otherFaces: otherFaces.length,
            ...(qualityOverruled ? { qualityOverruled: true, overruledBy: decision.overruledBy, minQuality: d.enrolRules.minQuality } : {}),
            ...owed,
          },
        });
      });
      d.onEnrolled?.committed();
      return {
        faceId,
        subjectId,
        quality: { score: face.quality.score, issues: face.quality.issues },
        box: face.box,
        model: engine.model.id,
        otherFaces,
        faceChosenBy: decision.by,
        qualityOverruled,
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

    /**
     * An enrolled image for internal readers (the candidate crop of a search, federation): not audited here; `organization` is
     * the subject's owner, for the reader's own audit event.
     */
    async faceImage(p: Principal, subjectId: string, faceId: string, variant: 'original' | 'crop') {
      const s = await mustGet(db, p, subjectId);
      return { ...(await openImage(subjectId, faceId, variant)), organization: s.organization };
    },

    /** GET /v1/subjects/:id/faces/:faceId/image: the image, audited as `read.face_image` (face id and variant). */
    async downloadImage(p: Principal, subjectId: string, faceId: string, variant: 'original' | 'crop') {
      const s = await mustGet(db, p, subjectId);
      const img = await openImage(subjectId, faceId, variant);
      await audited(p, 'read.face_image', [s], { faceId, variant });
      return img;
    },
  };
}

export type SubjectService = ReturnType<typeof createSubjectService>;
