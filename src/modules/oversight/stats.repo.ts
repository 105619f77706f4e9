import type { Queryable } from '../../shared/db';
import { FOUR_EYES_SQL } from '../review/review.model';
import { CANDIDATE_ROWS, FACE_INDEX, HAS_CANDIDATES, HUMAN_REVIEW_REQUIRED, SUBJECT_ID, WATCHLIST_ID } from '../search/search.model';
import type { StatsWindow } from './oversight.model';
import { grantState } from '../watchlist/watchlist.model';

// $1 from, $2 to, $3 organization: the window every statistic below is cut by (search.created_at in [from, to)).
const WINDOW = `($1::timestamptz IS NULL OR s.created_at >= $1) AND ($2::timestamptz IS NULL OR s.created_at < $2)
  AND ($3::text IS NULL OR s.organization = $3)`;

/**
 * One row per candidate of a 1:N search, with the distinct reviewers (key holders) that confirmed / rejected it, counted and
 * judged by the four-eyes rule's one SQL form (review.model FOUR_EYES_SQL, the same rule as reviewState()).
 */
const CANDIDATES = `
  WITH cand AS (
    SELECT s.id AS search_id, s.created_at, ${FACE_INDEX} AS face_index, ${SUBJECT_ID} AS subject_id
      FROM search s
      ${CANDIDATE_ROWS}
     WHERE s.kind = 'search' AND ${WINDOW}
  ), st AS (
    SELECT cand.search_id, cand.face_index, cand.subject_id,
           count(r.id) AS decisions,
           ${FOUR_EYES_SQL.confirmations} AS confirmations,
           ${FOUR_EYES_SQL.rejections} AS rejections,
           EXTRACT(EPOCH FROM min(r.created_at) - min(cand.created_at)) AS first_decision_s
      FROM cand
      LEFT JOIN review r ON r.search_id = cand.search_id AND r.face_index = cand.face_index AND r.subject_id = cand.subject_id
     GROUP BY cand.search_id, cand.face_index, cand.subject_id
  )`;

const int = (v: unknown) => Number(v ?? 0);

// Sharing figures: $1 from, $2 to, $3 owner organization (null = all). Watchlists of that owner; searches of any organization.
const OWNED = (org: string) => `SELECT w.id, w.name, w.organization FROM watchlist w WHERE (${org}::text IS NULL OR w.organization = ${org})`;
const IN_TIME = (col: string) => `($1::timestamptz IS NULL OR ${col} >= $1) AND ($2::timestamptz IS NULL OR ${col} < $2)`;

/**
 * Per (watchlist, searching organization): searches whose scope included the watchlist (search.params.watchlistIds, recorded
 * with each search), candidates returned from it, candidates confirmed by four-eyes review, and hit notices.
 */
const SHARING = `
  WITH wl AS (${OWNED('$3')}),
  scoped AS (
    SELECT x::uuid AS watchlist_id, s.organization, count(*) AS searches
      FROM search s CROSS JOIN LATERAL jsonb_array_elements_text(COALESCE(s.params->'watchlistIds', '[]'::jsonb)) x
     WHERE ${IN_TIME('s.created_at')} AND x::uuid IN (SELECT id FROM wl)
     GROUP BY 1, 2
  ), cand AS (
    SELECT s.id AS search_id, s.organization, ${FACE_INDEX} AS face_index, ${SUBJECT_ID} AS subject_id, ${WATCHLIST_ID} AS watchlist_id
      FROM search s
      ${CANDIDATE_ROWS}
     WHERE s.kind = 'search' AND ${IN_TIME('s.created_at')} AND ${WATCHLIST_ID} IN (SELECT id FROM wl)
  ), judged AS (
    SELECT cand.watchlist_id, cand.organization,
           ${FOUR_EYES_SQL.confirmations} AS confirmations,
           ${FOUR_EYES_SQL.rejections} AS rejections
      FROM cand LEFT JOIN review r ON r.search_id = cand.search_id AND r.face_index = cand.face_index AND r.subject_id = cand.subject_id
     GROUP BY cand.search_id, cand.face_index, cand.subject_id, cand.watchlist_id, cand.organization
  ), per_cand AS (
    SELECT watchlist_id, organization, count(*) AS candidates, count(*) FILTER (WHERE ${FOUR_EYES_SQL.confirmed('confirmations', 'rejections')}) AS confirmed
      FROM judged GROUP BY 1, 2
  ), hits AS (
    SELECT n.watchlist_id, n.searching_organization AS organization, count(*) AS hits
      FROM hit_notice n WHERE ${IN_TIME('n.at')} AND n.watchlist_id IN (SELECT id FROM wl) GROUP BY 1, 2
  ), keys AS (
    SELECT watchlist_id, organization FROM scoped UNION SELECT watchlist_id, organization FROM per_cand UNION SELECT watchlist_id, organization FROM hits
  )
  SELECT k.watchlist_id, k.organization, COALESCE(sc.searches, 0) AS searches, COALESCE(pc.candidates, 0) AS candidates,
         COALESCE(pc.confirmed, 0) AS confirmed, COALESCE(h.hits, 0) AS hits
    FROM keys k
    LEFT JOIN scoped sc USING (watchlist_id, organization)
    LEFT JOIN per_cand pc USING (watchlist_id, organization)
    LEFT JOIN hits h USING (watchlist_id, organization)
   ORDER BY k.watchlist_id, k.organization`;

type Figures = { searches: number; candidates: number; confirmed: number; hits: number };
const sum = (rows: Figures[]): Figures =>
  rows.reduce((a, r) => ({ searches: a.searches + r.searches, candidates: a.candidates + r.candidates, confirmed: a.confirmed + r.confirmed, hits: a.hits + r.hits }), {
    searches: 0,
    candidates: 0,
    confirmed: 0,
    hits: 0,
  });

/** Oversight statistics, computed in SQL over `search` and `review`. */
export function createStatsRepo() {
  return {
    sharing: sharingStats,

    async stats(db: Queryable, w: StatsWindow) {
      const p = [w.from ?? null, w.to ?? null, w.organization];
      const [byOrg, byKey, byMode, cands, unreviewed, perDay] = await Promise.all([
        db.query<{ organization: string; searches: number }>(
          `SELECT s.organization, count(*) AS searches FROM search s WHERE ${WINDOW}
            GROUP BY s.organization ORDER BY searches DESC, s.organization`,
          p,
        ),
        db.query<{ key_id: string; organization: string; label: string | null; searches: number }>(
          `SELECT s.key_id, s.organization, k.label, count(*) AS searches
             FROM search s LEFT JOIN api_key k ON k.id = s.key_id
            WHERE ${WINDOW}
            GROUP BY s.key_id, s.organization, k.label ORDER BY searches DESC, s.key_id`,
          p,
        ),
        db.query<{ mode: string; searches: number }>(
          `SELECT s.mode, count(*) AS searches FROM search s WHERE ${WINDOW} GROUP BY s.mode ORDER BY s.mode`,
          p,
        ),
        db.query<Record<string, number>>(
          `${CANDIDATES}
           SELECT count(*) AS candidates,
                  count(*) FILTER (WHERE decisions > 0) AS reviewed,
                  count(*) FILTER (WHERE ${FOUR_EYES_SQL.rejected('confirmations', 'rejections')}) AS rejected,
                  count(*) FILTER (WHERE ${FOUR_EYES_SQL.disputed('confirmations', 'rejections')}) AS disputed,
                  count(*) FILTER (WHERE ${FOUR_EYES_SQL.confirmed('confirmations', 'rejections')}) AS confirmed,
                  count(*) FILTER (WHERE ${FOUR_EYES_SQL.awaitingSecond('confirmations', 'rejections')}) AS awaiting_second_confirmation,
                  count(*) FILTER (WHERE decisions > 0 AND rejections = 0 AND confirmations = 0) AS inconclusive,
                  count(*) FILTER (WHERE confirmations > 0 AND rejections > 0) AS disagreements,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY first_decision_s) AS ttd_median_s,
                  percentile_cont(0.9) WITHIN GROUP (ORDER BY first_decision_s) AS ttd_p90_s
             FROM st`,
          p,
        ),
        db.query<{ searches: number; with_candidates: number; review_required: number }>(
          `SELECT count(*) AS searches,
                  count(*) FILTER (WHERE ${HAS_CANDIDATES}) AS with_candidates,
                  count(*) FILTER (WHERE ${HUMAN_REVIEW_REQUIRED}) AS review_required
             FROM search s
            WHERE s.kind = 'search' AND ${WINDOW}
              AND NOT EXISTS (SELECT 1 FROM review r WHERE r.search_id = s.id)`,
          p,
        ),
        db.query<{ day: string; organization: string; mode: string; searches: number }>(
          `SELECT to_char(date_trunc('day', s.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, s.organization, s.mode, count(*) AS searches
             FROM search s WHERE ${WINDOW}
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
          p,
        ),
      ]);
      const c = cands.rows[0] ?? {};
      const reviewed = int(c.reviewed);
      const rate = (n: unknown) => (reviewed ? Number((int(n) / reviewed).toFixed(4)) : null);
      const keys = byKey.rows.map((r) => ({ keyId: r.key_id, organization: r.organization, label: r.label, searches: int(r.searches) }));
      const u = unreviewed.rows[0];
      return {
        searchesByOrganization: byOrg.rows.map((r) => ({ organization: r.organization, searches: int(r.searches) })),
        searchesByKey: keys,
        searchesByMode: byMode.rows.map((r) => ({ mode: r.mode, searches: int(r.searches) })),
        candidates: {
          returned: int(c.candidates),
          reviewed,
          confirmed: int(c.confirmed),
          rejected: int(c.rejected),
          awaitingSecondConfirmation: int(c.awaiting_second_confirmation),
          /** Reviewers disagree and neither side has the majority: awaiting a further reviewer. */
          disputed: int(c.disputed),
          inconclusive: int(c.inconclusive),
          pending: int(c.candidates) - reviewed,
          confirmationRate: rate(c.confirmed),
          rejectionRate: rate(c.rejected),
          /** Candidates that at least one reviewer confirmed and another rejected (disputed now, or resolved since). */
          disagreements: int(c.disagreements),
          disagreementRate: rate(c.disagreements),
        },
        /** Seconds from a search to the first decision on each reviewed candidate (null when nothing was reviewed). */
        timeToDecisionSeconds: {
          median: c.ttd_median_s == null ? null : Math.round(Number(c.ttd_median_s)),
          p90: c.ttd_p90_s == null ? null : Math.round(Number(c.ttd_p90_s)),
        },
        searchesPerDay: perDay.rows.map((r) => ({ day: r.day, organization: r.organization, mode: r.mode, searches: int(r.searches) })),
        searchesWithoutReview: {
          total: int(u?.searches),
          withCandidates: int(u?.with_candidates),
          humanReviewRequired: int(u?.review_required),
        },
        topSearchers: keys.slice(0, 10),
      };
    },
  };
}

/**
 * Per-watchlist and per-grant figures for the watchlists an organization owns (`null`: every watchlist): searches by each
 * organization whose scope included the watchlist, candidates returned, confirmed (four-eyes) and hit notices; each grant
 * with its state (pending, active, declined, revoked), when it was answered, and its grantee's share of those figures.
 */
async function sharingStats(db: Queryable, w: StatsWindow) {
  const p = [w.from ?? null, w.to ?? null, w.organization];
  const [lists, rows, grants] = await Promise.all([
    db.query<{ id: string; name: string; organization: string }>(`${OWNED('$1')} ORDER BY w.organization, w.name`, [w.organization]),
    db.query<{ watchlist_id: string; organization: string; searches: number; candidates: number; confirmed: number; hits: number }>(SHARING, p),
    db.query<{ id: string; watchlist_id: string; organization: string; access: string; expires_at: Date | null; accepted_at: Date | null; declined_at: Date | null; revoked_at: Date | null }>(
      `SELECT g.id, g.watchlist_id, g.organization, g.access, g.expires_at, g.accepted_at, g.declined_at, g.revoked_at FROM watchlist_grant g
        WHERE g.watchlist_id IN (SELECT id FROM (${OWNED('$1')}) w)
          AND ($2::timestamptz IS NULL OR g.created_at < $2)
        ORDER BY g.created_at, g.id`,
      [w.organization, w.to ?? null],
    ),
  ]);
  const figures = rows.rows.map((r) => ({
    watchlistId: r.watchlist_id,
    organization: r.organization,
    searches: int(r.searches),
    candidates: int(r.candidates),
    confirmed: int(r.confirmed),
    hits: int(r.hits),
  }));
  const of = (watchlistId: string, organization?: string) =>
    figures.filter((f) => f.watchlistId === watchlistId && (organization === undefined || f.organization === organization));
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    watchlists: lists.rows.map((l) => ({
      watchlistId: l.id,
      name: l.name,
      organization: l.organization,
      ...sum(of(l.id)),
      byOrganization: of(l.id).map(({ watchlistId: _w, ...f }) => f),
    })),
    grants: grants.rows.map((g) => {
      const { searches, candidates, confirmed, hits } = sum(of(g.watchlist_id, g.organization));
      // Its state now: a pending offer or a declined one gave the grantee nothing.
      const state = grantState({ acceptedAt: g.accepted_at, declinedAt: g.declined_at, revokedAt: g.revoked_at });
      return {
        grantId: g.id, watchlistId: g.watchlist_id, organization: g.organization, access: g.access, state,
        expiresAt: iso(g.expires_at), acceptedAt: iso(g.accepted_at), declinedAt: iso(g.declined_at), revokedAt: iso(g.revoked_at),
        searches, candidates, confirmed, hits,
      };
    }),
  };
}

export type StatsRepo = ReturnType<typeof createStatsRepo>;
