import type { Queryable } from '../../shared/db';
import type { AuditActor } from '../audit/audit.model';
import type { FaceQuality } from '../../shared/face.types';
import type { ReverseScreening, ScreeningTask, SkipReason } from './reverse.model';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** A grant is live when accepted and neither revoked, declined nor expired at $at (watchlist.model accessSql's rule). */
const LIVE = (at: string) => `(g.accepted_at IS NOT NULL AND g.revoked_at IS NULL AND g.declined_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ${at}))`;

interface ConfigRow {
  grant_id: string;
  watchlist_id: string;
  owner: string;
  customers_watchlist_id: string;
  customers_watchlist: string;
  purpose: string;
  case_ref: string;
  key_id: string;
  holder: string | null;
  enabled_at: Date;
}

const toConfig = (r: ConfigRow): ReverseScreening => ({
  grantId: r.grant_id,
  watchlistId: r.watchlist_id,
  owner: r.owner,
  customersWatchlistId: r.customers_watchlist_id,
  customersWatchlist: r.customers_watchlist,
  purpose: r.purpose,
  caseRef: r.case_ref,
  keyId: r.key_id,
  holder: r.holder,
  enabledAt: iso(r.enabled_at)!,
});

const CONFIG = `SELECT r.*, g.watchlist_id, w.organization AS owner, c.name AS customers_watchlist
  FROM reverse_screening r JOIN watchlist_grant g ON g.id = r.grant_id JOIN watchlist w ON w.id = g.watchlist_id
  JOIN watchlist c ON c.id = r.customers_watchlist_id`;

export function createReverseRepo() {
  return {
    /** A grant made to `organization`, locked (FOR UPDATE: enabling races a revocation or a decline), with whether it is live. */
    async receivedGrant(db: Queryable, organization: string, grantId: string, at: Date) {
      const r = await db.query<{ id: string; watchlist_id: string; owner: string; live: boolean }>(
        `SELECT g.id, g.watchlist_id, w.organization AS owner, ${LIVE('$3')} AS live
           FROM watchlist_grant g JOIN watchlist w ON w.id = g.watchlist_id
          WHERE g.id = $1 AND g.organization = $2 FOR UPDATE OF g`,
        [grantId, organization, at],
      );
      const g = r.rows[0];
      return g ? { id: g.id, watchlistId: g.watchlist_id, owner: g.owner, live: g.live } : null;
    },

    async get(db: Queryable, grantId: string): Promise<ReverseScreening | null> {
      const r = await db.query<ConfigRow>(`${CONFIG} WHERE r.grant_id = $1`, [grantId]);
      return r.rows[0] ? toConfig(r.rows[0]) : null;
    },

    async upsert(db: Queryable, c: { grantId: string; customersWatchlistId: string; purpose: string; caseRef: string; keyId: string; holder: string | null; at: Date }) {
      await db.query(
        `INSERT INTO reverse_screening (grant_id, customers_watchlist_id, purpose, case_ref, key_id, holder, enabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (grant_id) DO UPDATE SET customers_watchlist_id = $2, purpose = $3, case_ref = $4, key_id = $5, holder = $6, enabled_at = $7`,
        [c.grantId, c.customersWatchlistId, c.purpose, c.caseRef, c.keyId, c.holder, c.at],
      );
    },

    async remove(db: Queryable, grantId: string): Promise<boolean> {
      return (await db.query('DELETE FROM reverse_screening WHERE grant_id = $1', [grantId])).rowCount > 0;
    },

    /**
     * In an enrolment's transaction: one task per live grant of the watchlist with reverse screening enabled. Returns the grants
     * and their receiving organizations.
     */
    async enqueue(db: Queryable, t: { faceId: string; watchlistId: string; enrolledBy: AuditActor; at: Date }) {
      const r = await db.query<{ grant_id: string; organization: string }>(
        `WITH owed AS (
           INSERT INTO reverse_screening_task (id, face_id, grant_id, enrolled_by, created_at)
           SELECT gen_random_uuid(), $1, g.id, $3::jsonb, $4
             FROM watchlist_grant g JOIN reverse_screening r ON r.grant_id = g.id
            WHERE g.watchlist_id = $2 AND ${LIVE('$4')}
           RETURNING grant_id)
         SELECT o.grant_id, g.organization FROM owed o JOIN watchlist_grant g ON g.id = o.grant_id ORDER BY g.organization, o.grant_id`,
        [t.faceId, t.watchlistId, JSON.stringify(t.enrolledBy), t.at],
      );
      return r.rows.map((x) => ({ grantId: x.grant_id, organization: x.organization }));
    },

    /** Oldest owed screenings first, skipping `exclude` (tried already in this pass). */
    async pending(db: Queryable, limit: number, exclude: string[]): Promise<string[]> {
      const r = await db.query<{ id: string }>(
        'SELECT id FROM reverse_screening_task WHERE done_at IS NULL AND NOT (id = ANY($2::uuid[])) ORDER BY created_at, id LIMIT $1',
        [limit, exclude],
      );
      return r.rows.map((x) => x.id);
    },

    async load(db: Queryable, id: string, at: Date): Promise<ScreeningTask | null> {
      const r = await db.query<{
        id: string; face_id: string; grant_id: string; enrolled_by: AuditActor; done_at: Date | null;
        grantee: string; live: boolean; watchlist_id: string; owner: string;
        customers_watchlist_id: string | null; purpose: string | null; case_ref: string | null; key_id: string | null; holder: string | null;
        subject_id: string | null; subject_watchlist_id: string | null; model_id: string | null; embedding: string | null;
        quality: FaceQuality; box: { x: number; y: number; width: number; height: number }; image_sha256: string | null;
      }>(
        `SELECT t.id, t.face_id, t.grant_id, t.enrolled_by, t.done_at, g.organization AS grantee, ${LIVE('$2')} AS live,
                g.watchlist_id, w.organization AS owner,
                r.customers_watchlist_id, r.purpose, r.case_ref, r.key_id, r.holder,
                f.subject_id, s.watchlist_id AS subject_watchlist_id, f.model_id, f.embedding::text AS embedding, f.quality, f.box, f.image_sha256
           FROM reverse_screening_task t
           JOIN watchlist_grant g ON g.id = t.grant_id
           JOIN watchlist w ON w.id = g.watchlist_id
           LEFT JOIN reverse_screening r ON r.grant_id = t.grant_id
           LEFT JOIN face f ON f.id = t.face_id
           LEFT JOIN subject s ON s.id = f.subject_id
          WHERE t.id = $1`,
        [id, at],
      );
      const x = r.rows[0];
      if (!x) return null;
      return {
        id: x.id,
        faceId: x.face_id,
        grantId: x.grant_id,
        enrolledBy: x.enrolled_by,
        doneAt: iso(x.done_at),
        grantee: x.grantee,
        live: x.live,
        watchlistId: x.watchlist_id,
        owner: x.owner,
        config: x.customers_watchlist_id
          ? { customersWatchlistId: x.customers_watchlist_id, purpose: x.purpose!, caseRef: x.case_ref!, keyId: x.key_id!, holder: x.holder }
          : null,
        template: x.subject_id
          ? {
              subjectId: x.subject_id,
              subjectWatchlistId: x.subject_watchlist_id!,
              modelId: x.model_id!,
              // pgvector's text form '[a,b,…]' is a JSON array.
              embedding: JSON.parse(x.embedding!) as number[],
              quality: x.quality,
              box: x.box,
              imageSha256: x.image_sha256,
            }
          : null,
      };
    },

    /**
     * Marks a task done, once: false when it was done already (another instance ran it), so the caller rolls its search back.
     * In the screening search's transaction (with `searchId`) or alone (with `skipped`).
     */
    async finish(db: Queryable, id: string, outcome: { searchId: string } | { skipped: SkipReason }, at: Date): Promise<boolean> {
      const r = await db.query(
        'UPDATE reverse_screening_task SET done_at = $2, search_id = $3, skipped = $4 WHERE id = $1 AND done_at IS NULL',
        [id, at, 'searchId' in outcome ? outcome.searchId : null, 'skipped' in outcome ? outcome.skipped : null],
      );
      return r.rowCount > 0;
    },
  };
}

export type ReverseRepo = ReturnType<typeof createReverseRepo>;
