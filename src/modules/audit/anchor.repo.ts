import type { Queryable } from '../../shared/db';
import type { AuditAnchor } from './audit.model';


/** Stored anchors of the audit chain head (the auditor keeps a copy outside the database). */
export function createAnchorRepo() {
  return {
    async insert(db: Queryable, a: { seq: number; hash: string; createdAt: string }): Promise<void> {
      await db.query('INSERT INTO audit_anchor (seq, hash, created_at) VALUES ($1, $2, $3)', [a.seq, a.hash, a.createdAt]);
    },

    /** Newest first. */
    async list(db: Queryable, limit: number): Promise<AuditAnchor[]> {
      const r = await db.query<{ seq: number; hash: string; created_at: Date }>(
        'SELECT seq, hash, created_at FROM audit_anchor ORDER BY seq DESC LIMIT $1',
        [limit],
      );
      return r.rows.map((x) => ({ seq: Number(x.seq), hash: x.hash, createdAt: new Date(x.created_at).toISOString() }));
    },
  };
}

export type AnchorRepo = ReturnType<typeof createAnchorRepo>;
