import type { ImageCipher } from '../../platform/crypto/image-cipher';
import { actorOf, type AuditLog } from '../audit/audit.model';
import type { Db, Queryable } from '../../shared/db';
import type { ProbeFaceRepo } from './probe-face.repo';
import type { Principal } from '../../shared/principal';
import { NotFoundError } from '../../shared/errors';
import type { SearchReader } from './search.model';

const DAY_MS = 86_400_000;

/** AES-GCM additional data binding a sealed crop to its search and face (a row moved elsewhere does not decrypt). */
const aadOf = (searchId: string, faceIndex: number) => `probe:${searchId}:${faceIndex}`;

/**
 * Probe-face retention (API.md): the aligned crop of every probe face is sealed and stored with its search, served to those who
 * may read the search, and purged `retentionDays` after the search. Each purge that removes anything appends one
 * `probe_faces.purged` audit event in the same transaction.
 */
export function createProbeFaceService(d: {
  db: Db;
  repo: ProbeFaceRepo;
  audit: AuditLog;
  cipher: ImageCipher;
  searches: () => SearchReader;
  /** The enrolled aligned crop of a gallery face and the organization owning its subject (throws NotFound once erased). */
  enrolledCrop: (subjectId: string, faceId: string) => Promise<{ mediaType: string; bytes: Buffer; organization: string }>;
  retentionDays: number;
  clock?: () => Date;
}) {
  const now = d.clock ?? (() => new Date());
  /** One read event per request (ids only), appended before the bytes are answered. */
  const read = (p: Principal, type: 'read.probe_face' | 'read.candidate_face', searchId: string, subjectIds: string[], payload: Record<string, unknown>) =>
    d.db.transaction((tx) => d.audit.append(tx, { type, actor: actorOf(p), searchId, subjectIds, payload }, now()));
  return {
    /** Seals and stores one crop inside the search's transaction. */
    async store(tx: Queryable, searchId: string, faceIndex: number, jpeg: Buffer, createdAt: string): Promise<void> {
      await d.repo.put(tx, { searchId, faceIndex, createdAt, mediaType: 'image/jpeg', ...d.cipher.sealFor(jpeg, aadOf(searchId, faceIndex)) });
    },

    /**
     * The decrypted crop, with the same visibility as the search (foreign organization → 404); purged or absent → 404.
     * Audited as `read.probe_face` unless `audited` is false (a case file records one `read.case_file` for all its images).
     */
    async image(p: Principal, searchId: string, faceIndex: number, opts: { audited?: boolean } = {}) {
      const rec = await d.searches().get(p, searchId);
      const sealed = await d.repo.get(d.db, searchId, faceIndex);
      if (!sealed) throw new NotFoundError('Probe face image (never stored, or purged after the retention period)');
      const bytes = d.cipher.open(sealed, aadOf(searchId, faceIndex));
      if (opts.audited !== false) await read(p, 'read.probe_face', searchId, [], { faceIndex, owners: [rec.organization] });
      return { mediaType: sealed.mediaType, bytes };
    },

    /**
     * The enrolled crop of the candidate at `rank` for probe face `faceIndex` of a search, for whoever may read the search and
     * may see that candidate now (searchers see the faces their search proposed, not the whole gallery; a screen grantee, or a
     * grantee whose grant is gone, gets 404). An erased subject → 404. Audited as `read.candidate_face` unless `audited` is false.
     */
    async candidateImage(p: Principal, searchId: string, faceIndex: number, rank: number, opts: { audited?: boolean } = {}) {
      const rec = await d.searches().get(p, searchId);
      const faces = rec.kind === 'search' ? rec.result.faces : [];
      const c = faces.find((f) => f.faceIndex === faceIndex)?.candidates.find((x) => x.rank === rank);
      if (!c || c.withheld || !c.faceId) throw new NotFoundError('Candidate');
      const { organization, ...img } = await d.enrolledCrop(c.subjectId, c.faceId);
      // `owners` names whose data was read: the subject's organization (the search's own is not read here).
      if (opts.audited !== false) await read(p, 'read.candidate_face', searchId, [c.subjectId], { faceIndex, rank, faceId: c.faceId, owners: [organization], watchlistIds: [c.watchlistId] });
      return img;
    },

    /**
     * Removes crops older than the retention period; audited when anything was removed. While another instance is purging this
     * one removes nothing (`concurrent: true`): that purge covers the same crops.
     */
    async purgeExpired() {
      const at = now();
      const before = new Date(at.getTime() - d.retentionDays * DAY_MS).toISOString();
      return d.db.transaction(async (tx) => {
        if (!(await d.repo.tryPurgeLock(tx))) return { crops: 0, searches: 0, before, audit: null, concurrent: true };
        const removed = await d.repo.deleteBefore(tx, before);
        if (removed.crops === 0) return { ...removed, before, audit: null };
        const ev = await d.audit.append(
          tx,
          {
            type: 'probe_faces.purged',
            actor: { keyId: null, organization: '*', roles: [] },
            payload: { before, retentionDays: d.retentionDays, cropsRemoved: removed.crops, searches: removed.searches },
          },
          at,
        );
        return { ...removed, before, audit: { seq: ev.seq, hash: ev.hash } };
      });
    },
  };
}

export type ProbeFaceService = ReturnType<typeof createProbeFaceService>;
