import type { Role } from '../../shared/principal';
import type { Queryable } from '../../shared/db';
import type { ApiKeyRow, KeyDirectory } from './key.model';

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
  last_used_at: Date | null;
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
  lastUsedAt: r.last_used_at ? new Date(r.last_used_at).toISOString() : null,
});

const BOOTSTRAP_LOCK_KEY = 7_406_331_903;

export function createKeyRepo() {
  const repo = {
    async insert(db: Queryable, k: Omit<ApiKeyRow, 'createdAt' | 'revokedAt' | 'lastUsedAt'>): Promise<ApiKeyRow> {
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
    /** Records a use of the key at `at` unless one at most `resolutionMs` earlier is recorded (one write a minute per key). */
    async touch(db: Queryable, id: string, at: Date, resolutionMs: number): Promise<void> {
      await db.query(
        `UPDATE api_key SET last_used_at = $2
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - make_interval(secs => $3::double precision / 1000))`,
        [id, at, resolutionMs],
      );
    },
    /**
     * Serialises changes to the set of active admin keys: first-start bootstraps (several instances starting on one empty
     * database register one key) and revocations of `*` admins (two admins revoking each other at once must not both succeed).
     */
    async lockAdmins(tx: Queryable): Promise<void> {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
    },

    /** Active admin keys of organization `*` other than `exceptId`. */
    async otherActiveStarAdmins(db: Queryable, exceptId: string): Promise<number> {
      const r = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM api_key WHERE 'admin' = ANY(roles) AND organization = '*' AND revoked_at IS NULL AND id <> $1",
        [exceptId],
      );
      return r.rows[0]?.n ?? 0;
    },

    /** Whether the key table has any row (active or revoked): bootstrap runs only on an empty one. */
    async anyKeyExists(db: Queryable): Promise<boolean> {
      const r = await db.query('SELECT 1 FROM api_key LIMIT 1');
      return r.rows.length > 0;
    },

    async activeAdminExists(db: Queryable): Promise<boolean> {
      const r = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM api_key WHERE 'admin' = ANY(roles) AND revoked_at IS NULL",
      );
      return (r.rows[0]?.n ?? 0) > 0;
    },
  };
  return repo satisfies KeyDirectory;
}

export type KeyRepo = ReturnType<typeof createKeyRepo>;
