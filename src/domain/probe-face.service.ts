import type { ImageCipher } from '../infra/crypto/image-cipher';
import type { AuditRepo } from '../infra/db/audit.repo';
import type { Db, Queryable } from '../infra/db/db';
import type { ProbeFaceRepo } from '../infra/db/probe-face.repo';
import type { Principal } from './api-key';
import { NotFoundError } from './errors';
import { storedFaces } from './search-result';
import type { SearchService } from './search.service';

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
  audit: AuditRepo;
  cipher: ImageCipher;
  searches: () => SearchService;
  /** The enrolled aligned crop of a gallery face (throws NotFound once erased). */
  enrolledCrop: (subjectId: string, faceId: string) => Promise<{ mediaType: string; bytes: Buffer }>;
  retentionDays: number;
  clock?: () => Date;
}) {
  const now = d.clock ?? (() => new Date());
  return {
    /** Seals and stores one crop inside the search's transaction. */
    async store(tx: Queryable, searchId: string, faceIndex: number, jpeg: Buffer, createdAt: string): Promise<void> {
      await d.repo.put(tx, { searchId, faceIndex, createdAt, mediaType: 'image/jpeg', ...d.cipher.sealFor(jpeg, aadOf(searchId, faceIndex)) });
    },

    /** The decrypted crop, with the same visibility as the search (foreign organization → 404); purged or absent → 404. */
    async image(p: Principal, searchId: string, faceIndex: number) {
      await d.searches().get(p, searchId);
      const sealed = await d.repo.get(d.db, searchId, faceIndex);
      if (!sealed) throw new NotFoundError('Probe face image (never stored, or purged after the retention period)');
      return { mediaType: sealed.mediaType, bytes: d.cipher.open(sealed, aadOf(searchId, faceIndex)) };
    },

    /**
     * The enrolled crop of the candidate at `rank` for probe face `faceIndex` of a search, for whoever may read the search
     * (searchers see the faces their search proposed, not the whole gallery). An erased subject → 404.
     */
    async candidateImage(p: Principal, searchId: string, faceIndex: number, rank: number) {
      const rec = await d.searches().get(p, searchId);
      const c = storedFaces(rec).find((f) => f.faceIndex === faceIndex)?.candidates.find((x) => x.rank === rank);
      if (!c) throw new NotFoundError('Candidate');
      return d.enrolledCrop(c.subjectId, c.faceId);
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
