import type { Role } from '../../domain/api-key';
import type { Queryable } from './db';

export interface ApiKeyRow {
  id: string;
  lookup: string;
  secretHash: string;
  roles: Role[];
  organization: string;
  /** The person (or system) that uses the key. */
  holder: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

interface Row {
  id: string;
  lookup: string;
  secret_hash: string;
  roles: Role[];
  organization: string;
  holder: string;
  label: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

const toKey = (r: Row): ApiKeyRow => ({
  id: r.id,
  lookup: r.lookup,
  secretHash: r.secret_hash,
  roles: r.roles,
  organization: r.organization,
  holder: r.holder,
  label: r.label,
  createdAt: new Date(r.created_at).toISOString(),
  revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
});

export function createKeyRepo() {
  return {
    async insert(db: Queryable, k: Omit<ApiKeyRow, 'createdAt' | 'revokedAt'>): Promise<ApiKeyRow> {
      const r = await db.query<Row>(
        `INSERT INTO api_key (id, lookup, secret_hash, roles, organization, holder, label)
         VALUES ($1, $2, $3, $4::text[], $5, $6, $7) RETURNING *`,
        [k.id, k.lookup, k.secretHash, k.roles, k.organization, k.holder, k.label],
      );
      return toKey(r.rows[0]!);
    },
    async findByLookup(db: Queryable, lookup: string): Promise<ApiKeyRow | null> {
      const r = await db.query<Row>('SELECT * FROM api_key WHERE lookup = $1', [lookup]);
      return r.rows[0] ? toKey(r.rows[0]) : null;
    },
    async findById(db: Queryable, id: string): Promise<ApiKeyRow | null> {
      const r = await db.query<Row>('SELECT * FROM api_key WHERE id = $1', [id]);
      return r.rows[0] ? toKey(r.rows[0]) : null;
    },
    async list(db: Queryable, organization: string | null): Promise<ApiKeyRow[]> {
      const r = await db.query<Row>(
        'SELECT * FROM api_key WHERE ($1::text IS NULL OR organization = $1) ORDER BY created_at, id',
        [organization],
      );
      return r.rows.map(toKey);
    },
    async revoke(db: Queryable, id: string): Promise<ApiKeyRow | null> {
      const r = await db.query<Row>(
        'UPDATE api_key SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING *',
        [id],
      );
      return r.rows[0] ? toKey(r.rows[0]) : null;
    },
    async activeAdminExists(db: Queryable): Promise<boolean> {
      const r = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM api_key WHERE 'admin' = ANY(roles) AND revoked_at IS NULL",
      );
      return (r.rows[0]?.n ?? 0) > 0;
    },
  };
}

export type KeyRepo = ReturnType<typeof createKeyRepo>;
