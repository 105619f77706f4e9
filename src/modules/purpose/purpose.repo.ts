import type { Queryable } from '../../shared/db';

export interface StoredPurposePolicy {
  organization: string;
  minLength: number | null;
  allowed: string[] | null;
  updatedAt: string;
  updatedBy: string;
}

interface Row {
  organization: string;
  min_length: number | null;
  allowed: string[] | null;
  updated_at: Date;
  updated_by: string;
}

const toPolicy = (r: Row): StoredPurposePolicy => ({
  organization: r.organization,
  minLength: r.min_length === null ? null : Number(r.min_length),
  allowed: r.allowed,
  updatedAt: new Date(r.updated_at).toISOString(),
  updatedBy: r.updated_by,
});

export function createPurposeRepo() {
  return {
    async get(db: Queryable, organization: string): Promise<StoredPurposePolicy | null> {
      const r = await db.query<Row>('SELECT * FROM purpose_policy WHERE organization = $1', [organization]);
      return r.rows[0] ? toPolicy(r.rows[0]) : null;
    },
    async put(db: Queryable, p: Omit<StoredPurposePolicy, 'updatedAt'>, at: Date): Promise<StoredPurposePolicy> {
      const r = await db.query<Row>(
        `INSERT INTO purpose_policy (organization, min_length, allowed, updated_at, updated_by) VALUES ($1, $2, $3::text[], $4, $5)
         ON CONFLICT (organization) DO UPDATE SET min_length = EXCLUDED.min_length, allowed = EXCLUDED.allowed,
                                                  updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
         RETURNING *`,
        [p.organization, p.minLength, p.allowed, at, p.updatedBy],
      );
      return toPolicy(r.rows[0]!);
    },
    async delete(db: Queryable, organization: string): Promise<boolean> {
      const r = await db.query('DELETE FROM purpose_policy WHERE organization = $1', [organization]);
      return (r.rowCount ?? 0) > 0;
    },
  };
}

export type PurposeRepo = ReturnType<typeof createPurposeRepo>;
