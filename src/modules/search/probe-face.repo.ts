import type { Queryable } from '../../shared/db';

export interface SealedImage {
  mediaType: string;
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

/** One purge at a time across instances (each runs the hourly job). */
export const PURGE_LOCK_KEY = 7_406_331_904;

/** Encrypted aligned crops of probe faces (probe_face_image). */
export function createProbeFaceRepo() {
  return {
    /**
     * Takes the purge lock for the rest of the caller's transaction, or answers false at once when another instance's purge
     * holds it. Concurrent DELETEs would still remove each crop once, but could split one purge into two audit events.
     */
    async tryPurgeLock(tx: Queryable): Promise<boolean> {
      const r = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [PURGE_LOCK_KEY]);
      return r.rows[0]!.locked;
    },

    async put(db: Queryable, img: SealedImage & { searchId: string; faceIndex: number; createdAt: string }): Promise<void> {
      await db.query(
        `INSERT INTO probe_face_image (search_id, face_index, media_type, key_id, nonce, ciphertext, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [img.searchId, img.faceIndex, img.mediaType, img.keyId, img.nonce, img.ciphertext, img.createdAt],
      );
    },

    async get(db: Queryable, searchId: string, faceIndex: number): Promise<SealedImage | null> {
      const r = await db.query<{ media_type: string; key_id: string; nonce: Uint8Array; ciphertext: Uint8Array }>(
        'SELECT media_type, key_id, nonce, ciphertext FROM probe_face_image WHERE search_id = $1 AND face_index = $2',
        [searchId, faceIndex],
      );
      const x = r.rows[0];
      return x ? { mediaType: x.media_type, keyId: x.key_id, nonce: Buffer.from(x.nonce), ciphertext: Buffer.from(x.ciphertext) } : null;
    },

    /** Deletes crops of searches made before `before`; returns how many crops and how many searches lost them. */
    async deleteBefore(db: Queryable, before: string): Promise<{ crops: number; searches: number }> {
      const r = await db.query<{ crops: number; searches: number }>(
        `WITH gone AS (DELETE FROM probe_face_image WHERE created_at < $1 RETURNING search_id)
         SELECT count(*)::int AS crops, count(DISTINCT search_id)::int AS searches FROM gone`,
        [before],
      );
      return r.rows[0] ?? { crops: 0, searches: 0 };
    },
  };
}

export type ProbeFaceRepo = ReturnType<typeof createProbeFaceRepo>;
