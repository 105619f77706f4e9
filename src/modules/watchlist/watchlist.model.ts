import type { Queryable } from '../../shared/db';
import type { Principal } from '../../shared/principal';

/** Watchlists (owned by one organization, shared with others by grant) and the access rule over them (API.md "Watchlists"). */
export type Access = 'owner' | 'search' | 'screen';
export type GrantAccess = Exclude<Access, 'owner'>;

/**
 * A watchlist's overrule policy for enrolment (issue 29): a face between ENROL_QUALITY_FLOOR and ENROL_MIN_QUALITY is refused
 * (`never`), enrolled when the request sends acceptQuality=true (`on_request`, the default), or enrolled without being asked
 * (`always`); in the last two cases flagged as overruled. Under the floor nothing enrols it.
 */
export const ACCEPT_QUALITY_POLICIES = ['never', 'on_request', 'always'] as const;
export type AcceptQualityPolicy = (typeof ACCEPT_QUALITY_POLICIES)[number];

/**
 * `watchlist`: subjects of an investigation, shareable by grant. `customers` (issue 22 #3): an institution's own enrolled
 * clients, never granted to anyone; the gallery a bank has screened against new subjects of watchlists granted to it.
 */
export const WATCHLIST_KINDS = ['watchlist', 'customers'] as const;
export type WatchlistKind = (typeof WATCHLIST_KINDS)[number];

export interface Watchlist {
  id: string;
  kind: WatchlistKind;
  organization: string;
  name: string;
  description: string | null;
  jurisdiction: string;
  legalBasis: string;
  retentionDays: number | null;
  enrolment: { acceptQuality: AcceptQualityPolicy };
  createdAt: string;
  updatedAt: string;
}

/**
 * A grant to another organization is `pending` until an admin of that organization accepts it (`active`); it gives access only
 * while active (and not expired). `declined`: the receiving organization refused it or gave it up; `revoked`: the owner ended it.
 */
export type GrantState = 'pending' | 'active' | 'declined' | 'revoked';

/** A grant's state from when it was answered and ended (the columns of watchlist_grant): the one rule, for every reader. */
export function grantState(g: { acceptedAt: Date | null; declinedAt: Date | null; revokedAt: Date | null }): GrantState {
  return g.revokedAt ? 'revoked' : g.declinedAt ? 'declined' : g.acceptedAt ? 'active' : 'pending';
}

export interface Grant {
  id: string;
  watchlistId: string;
  organization: string;
  access: GrantAccess;
  expiresAt: string | null;
  createdAt: string;
  state: GrantState;
  acceptedAt: string | null;
  declinedAt: string | null;
  revokedAt: string | null;
}

/** A grant as the receiving organization sees it: which watchlist (name, owner) it offers. */
export interface ReceivedGrant extends Grant {
  watchlist: string;
  owner: string;
}

export type WatchlistFields = Pick<Watchlist, 'name' | 'description' | 'jurisdiction' | 'legalBasis' | 'retentionDays'> & { enrolment?: Watchlist['enrolment']; kind?: WatchlistKind };

/**
 * The access rule, as SQL over `watchlist w`, with three placeholders: the caller's organization, the mode
 * ('screening' lets screen grants count; anything else needs `search`) and the time a grant must still be live at. Only
 * accepted grants count: a pending or declined one gives nothing.
 * The one definition of "who may search what": the kNN query, subject reads and UNKNOWN_WATCHLIST all use it, so
 * a revocation or expiry takes effect on the next statement that runs it.
 */
export const accessSql = (org: string, mode: string, at: string) => `CASE
    WHEN w.organization = ${org} THEN 'owner'
    ELSE (SELECT CASE WHEN bool_or(g.access = 'search') THEN 'search' ELSE 'screen' END
            FROM watchlist_grant g
           WHERE g.watchlist_id = w.id AND g.organization = ${org} AND g.revoked_at IS NULL
             AND g.accepted_at IS NOT NULL AND g.declined_at IS NULL
             AND (g.expires_at IS NULL OR g.expires_at > ${at})
             AND (g.access = 'search' OR ${mode} = 'screening')
          HAVING count(*) > 0)
  END`;

/** A search mode that counts every live grant (watchlist metadata: a grantee of either access sees the watchlist itself). */
export const ANY_GRANT = 'screening';

/**
 * How much of a stored candidate a reader is shown, decided when read from the caller's access to its watchlist NOW
 * (docs/OVERSIGHT.md "Who sees what"): `full` for the owner, a live `search` grantee and `*`; `screen` for a live `screen`
 * grantee (hit and the owner's reference only); `none` once no live grant is left (revoked, expired).
 */
export type Disclosure = 'full' | 'screen' | 'none';

/**
 * Who may do what with a watchlist, as other modules ask it (watchlist.service.ts createWatchlistAccess implements it).
 * Anything the caller cannot read is NOT_FOUND; a watchlist a search names but may not search is UNKNOWN_WATCHLIST.
 */
export interface WatchlistAccess {
  /** The owner, a live grantee (either access) and `*` read it. */
  read(db: Queryable, p: Principal, id: string): Promise<{ watchlist: Watchlist; access: Access }>;
  /** Only the owning organization changes it, its subjects and grants (FORBIDDEN otherwise). */
  owner(db: Queryable, p: Principal, id: string): Promise<Watchlist>;
  /** A watchlist (name or id) the caller's organization owns, for enrolment. */
  ownedByRef(db: Queryable, p: Principal, ref: string): Promise<Watchlist>;
  /** Names or ids a search names, resolved against what the caller may search in `mode`. */
  searchableByRefs(db: Queryable, p: Principal, mode: string, refs: string[]): Promise<string[]>;
  /** Likewise over the watchlists whose subjects the caller may read: its own organization's (`*`: all). Grants never count. */
  readableByRefs(db: Queryable, p: Principal, refs: string[]): Promise<string[]>;
  readableIds(db: Queryable, p: Principal): Promise<string[]>;
  /** Whether the caller may read subject records, faces and images of this watchlist: its owner or `*` (grantees: no). */
  readsSubjects(db: Queryable, p: Principal, id: string): Promise<boolean>;
  /** The caller's disclosure level for candidates of each watchlist, now (absent ids: `none`). */
  disclosure(db: Queryable, p: Principal): Promise<(watchlistId: string) => Disclosure>;
  searchableIds(db: Queryable, p: Principal, mode: string): Promise<string[]>;
}
