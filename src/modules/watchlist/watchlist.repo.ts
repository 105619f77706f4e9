import type { Queryable } from '../../shared/db';
import type { AcceptQualityPolicy, Access, Grant, GrantAccess, GrantState, ReceivedGrant, Watchlist, WatchlistFields, WatchlistKind } from './watchlist.model';
import { accessSql, grantState } from './watchlist.model';


const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

interface Row {
  id: string;
  kind: WatchlistKind;
  organization: string;
  name: string;
  description: string | null;
  jurisdiction: string;
  legal_basis: string;
  retention_days: number | null;
  enrolment_accept_quality: AcceptQualityPolicy;
  created_at: Date;
  updated_at: Date;
  access?: Access;
}

const toWatchlist = (r: Row): Watchlist => ({
  id: r.id,
  kind: r.kind,
  organization: r.organization,
  name: r.name,
  description: r.description,
  jurisdiction: r.jurisdiction,
  legalBasis: r.legal_basis,
  retentionDays: r.retention_days,
  enrolment: { acceptQuality: r.enrolment_accept_quality },
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

interface GrantRow {
  id: string;
  watchlist_id: string;
  organization: string;
  access: GrantAccess;
  expires_at: Date | null;
  created_at: Date;
  accepted_at: Date | null;
  declined_at: Date | null;
  revoked_at: Date | null;
}

const stateOf = (r: GrantRow): GrantState => grantState({ acceptedAt: r.accepted_at, declinedAt: r.declined_at, revokedAt: r.revoked_at });

const toGrant = (r: GrantRow): Grant => ({
  id: r.id,
  watchlistId: r.watchlist_id,
  organization: r.organization,
  access: r.access,
  expiresAt: iso(r.expires_at),
  createdAt: iso(r.created_at)!,
  state: stateOf(r),
  acceptedAt: iso(r.accepted_at),
  declinedAt: iso(r.declined_at),
  revokedAt: iso(r.revoked_at),
});

const RECEIVED = 'SELECT g.*, w.name AS watchlist, w.organization AS owner FROM watchlist_grant g JOIN watchlist w ON w.id = g.watchlist_id';
const toReceived = (r: GrantRow & { watchlist: string; owner: string }): ReceivedGrant => ({ ...toGrant(r), watchlist: r.watchlist, owner: r.owner });

const ANSWER_SQL = {
  accept: 'UPDATE watchlist_grant SET accepted_at = $2 WHERE id = $1',
  decline: 'UPDATE watchlist_grant SET declined_at = $2 WHERE id = $1',
} as const;

export function createWatchlistRepo() {
  return {
    async insert(db: Queryable, w: WatchlistFields & { id: string; organization: string }): Promise<Watchlist> {
      const r = await db.query<Row>(
        `INSERT INTO watchlist (id, organization, name, description, jurisdiction, legal_basis, retention_days, enrolment_accept_quality, kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, 'on_request'), COALESCE($9, 'watchlist')) RETURNING *`,
        [w.id, w.organization, w.name, w.description, w.jurisdiction, w.legalBasis, w.retentionDays, w.enrolment?.acceptQuality ?? null, w.kind ?? null],
      );
      return toWatchlist(r.rows[0]!);
    },

    async get(db: Queryable, id: string): Promise<Watchlist | null> {
      const r = await db.query<Row>('SELECT * FROM watchlist WHERE id = $1', [id]);
      return r.rows[0] ? toWatchlist(r.rows[0]) : null;
    },

    async getByName(db: Queryable, organization: string, name: string): Promise<Watchlist | null> {
      const r = await db.query<Row>('SELECT * FROM watchlist WHERE organization = $1 AND name = $2', [organization, name]);
      return r.rows[0] ? toWatchlist(r.rows[0]) : null;
    },

    /** The caller's access to one watchlist in `mode` (null: none). */
    async access(db: Queryable, organization: string, id: string, mode: string, at: Date): Promise<{ watchlist: Watchlist; access: Access | null } | null> {
      const r = await db.query<Row>(`SELECT w.*, ${accessSql('$2', '$3', '$4')} AS access FROM watchlist w WHERE w.id = $1`, [id, organization, mode, at]);
      const row = r.rows[0];
      if (!row) return null;
      return { watchlist: toWatchlist(row), access: row.access ?? null };
    },

    /**
     * Watchlists the organization owns or holds a live grant for in `mode`, each with its access. `readAll` (organization `*`
     * reading, never searching) adds every other watchlist as `search`.
     */
    async listAccessible(db: Queryable, organization: string, mode: string, at: Date, readAll = false): Promise<Array<Watchlist & { access: Access }>> {
      const r = await db.query<Row & { access: Access }>(
        `SELECT * FROM (SELECT w.*, COALESCE(${accessSql('$1', '$2', '$3')}, CASE WHEN $4::boolean THEN 'search' END) AS access FROM watchlist w) x
          WHERE access IS NOT NULL ORDER BY organization, name`,
        [organization, mode, at, readAll],
      );
      return r.rows.map((x) => ({ ...toWatchlist(x), access: x.access }));
    },

    async update(db: Queryable, id: string, patch: Partial<WatchlistFields>): Promise<Watchlist | null> {
      const r = await db.query<Row>(
        `UPDATE watchlist SET
           name = COALESCE($2, name),
           description = CASE WHEN $3::boolean THEN $4 ELSE description END,
           jurisdiction = COALESCE($5, jurisdiction),
           legal_basis = COALESCE($6, legal_basis),
           retention_days = CASE WHEN $7::boolean THEN $8::int ELSE retention_days END,
           enrolment_accept_quality = COALESCE($9, enrolment_accept_quality),
           updated_at = now()
         WHERE id = $1 RETURNING *`,
        [id, patch.name ?? null, 'description' in patch, patch.description ?? null, patch.jurisdiction ?? null, patch.legalBasis ?? null, 'retentionDays' in patch, patch.retentionDays ?? null, patch.enrolment?.acceptQuality ?? null],
      );
      return r.rows[0] ? toWatchlist(r.rows[0]) : null;
    },

    async subjectIds(db: Queryable, id: string): Promise<string[]> {
      return (await db.query<{ id: string }>('SELECT id FROM subject WHERE watchlist_id = $1 ORDER BY created_at, id', [id])).rows.map((x) => x.id);
    },

    /** Grants go with the watchlist (ON DELETE CASCADE); its subjects must have been erased first. */
    async delete(db: Queryable, id: string): Promise<boolean> {
      return (await db.query('DELETE FROM watchlist WHERE id = $1', [id])).rowCount > 0;
    },

    /** `acceptedAt` null: pending until the receiving organization accepts. */
    async insertGrant(db: Queryable, g: { id: string; watchlistId: string; organization: string; access: GrantAccess; expiresAt: string | null; acceptedAt: Date | null }): Promise<Grant> {
      const r = await db.query<GrantRow>(
        'INSERT INTO watchlist_grant (id, watchlist_id, organization, access, expires_at, accepted_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
        [g.id, g.watchlistId, g.organization, g.access, g.expiresAt, g.acceptedAt],
      );
      return toGrant(r.rows[0]!);
    },

    async listGrants(db: Queryable, watchlistId: string): Promise<Grant[]> {
      const r = await db.query<GrantRow>('SELECT * FROM watchlist_grant WHERE watchlist_id = $1 ORDER BY created_at, id', [watchlistId]);
      return r.rows.map(toGrant);
    },

    /** Grants made to `organization` (every state), newest first, with the watchlist they offer. */
    async listReceived(db: Queryable, organization: string): Promise<ReceivedGrant[]> {
      const r = await db.query<GrantRow & { watchlist: string; owner: string }>(`${RECEIVED} WHERE g.organization = $1 ORDER BY g.created_at DESC, g.id`, [organization]);
      return r.rows.map(toReceived);
    },

    /** One grant made to `organization`, locked for the answer (FOR UPDATE: an accept and a decline cannot both win). */
    async getReceived(db: Queryable, organization: string, grantId: string): Promise<ReceivedGrant | null> {
      const r = await db.query<GrantRow & { watchlist: string; owner: string }>(`${RECEIVED} WHERE g.id = $1 AND g.organization = $2 FOR UPDATE OF g`, [grantId, organization]);
      return r.rows[0] ? toReceived(r.rows[0]) : null;
    },

    async answerGrant(db: Queryable, grantId: string, answer: 'accept' | 'decline', at: Date): Promise<void> {
      await db.query(ANSWER_SQL[answer], [grantId, at]);
    },

    async revokeGrant(db: Queryable, watchlistId: string, grantId: string, at: Date): Promise<Grant | null> {
      const r = await db.query<GrantRow>(
        'UPDATE watchlist_grant SET revoked_at = $3 WHERE id = $2 AND watchlist_id = $1 AND revoked_at IS NULL AND declined_at IS NULL RETURNING *',
        [watchlistId, grantId, at],
      );
      return r.rows[0] ? toGrant(r.rows[0]) : null;
    },
  };
}

export type WatchlistRepo = ReturnType<typeof createWatchlistRepo>;
