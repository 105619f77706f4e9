import { DatabaseUnavailableError } from '../../shared/errors';
import type { Db, Queryable, QueryResult } from '../../shared/db';
import { sqlState } from './sqlstate';

/**
 * Read routing to a PostgreSQL hot standby (DATABASE_READ_URL). Which reads may go there is decided by the services through
 * their `reads` dependency (docs/SCALING.md "Read replicas" has the full table):
 *
 *   primary  every write and transaction; the kNN of verifications, and of searches unless KNN_ON_REPLICA puts their
 *            gallery snapshot on a usable replica (snapshot()): a search reads in a snapshot whose audit chain position it
 *            records, then re-checks its candidates under the append lock: the position describes
 *            exactly the gallery searched, and an erasure or revocation counts from the moment it is acknowledged); authentication and watchlist access (a revoked
 *            key or grant stops on the next request); reads by id and the review queue (read-your-writes); watchlist and key
 *            lists (authorization data)
 *   replica  search, subject (scope from the primary) and notice listings; oversight statistics; audit events, verify,
 *            export and anchors (append-only, read by seq: a consistent prefix); the gallery-size metric
 *
 * This module only answers "may this read go to the replica now?" and falls back to the primary when it may not.
 *
 * Lag is measured against the primary, not from the standby's own view (a standby whose WAL stream is cut believes it is
 * up to date): each check reads the primary's WAL position L at time t and the standby's replayed position R. Whatever had
 * committed on the primary before t is at or below L, so once R ≥ L the standby holds everything committed before t. The
 * staleness of a read made now is therefore at most `now − t` for the newest sample (t, L) with L ≤ R: an upper bound that
 * only grows between checks, so a standby that stops replaying is dropped at the bound even if no check runs. A standby
 * that has not caught up with any sample yet (just started, or far behind) has an unknown lag and is not used.
 */

export type ReplicaState =
  /** Replaying and within the lag bound. */
  | 'ok'
  /** Reachable, but its bound on staleness exceeds DATABASE_READ_MAX_LAG_MS (or is not known yet). */
  | 'lagging'
  /** Connection refused, lost or timed out. */
  | 'down'
  /**
   * The URL points at a server that is not in recovery (a primary, or a promoted standby), or at a standby of another cluster
   * (its system identifier differs from the primary's): never used for reads.
   */
  | 'not_standby'
  /** The primary could not be asked for its WAL position, so the lag cannot be measured. */
  | 'unknown';

export interface ReplicaStatus {
  state: ReplicaState;
  /** Reads go to the replica right now. */
  usable: boolean;
  /** Upper bound on the replica's staleness in milliseconds now; null while unknown. */
  lagMs: number | null;
  maxLagMs: number;
}

export interface ReadRouter {
  /**
   * A reader for one read operation (one or several statements). It is pinned at creation: to the replica when it is usable
   * then, else to the primary. If the replica fails under it (connection lost, or a query cancelled by a recovery conflict),
   * the statement is re-run on the primary and the reader stays there: the primary holds everything the replica held, so a
   * paged read (audit events by seq) that moves over stays a consistent prefix.
   */
  reader(): Queryable;
  /**
   * Runs `fn` in one transaction on the replica when it is usable now, else on the primary (KNN_ON_REPLICA: a search's
   * gallery snapshot). The transaction is re-run whole on the primary when the replica fails under it; the caller's reads
   * inside must be repeatable (REPEATABLE READ, read-only), so a rerun sees one consistent state, not a mixture.
   */
  snapshot<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  status(): ReplicaStatus;
  /** Measures the lag now (the timer calls this every checkIntervalMs; tests call it directly). */
  check(): Promise<ReplicaStatus>;
  start(): void;
  /** Stops the checks (the replica's pool is closed by whoever opened it). */
  close(): Promise<void>;
}

export interface ReadRouterOptions {
  primary: Db;
  replica: Db;
  maxLagMs: number;
  /** Default: half the lag bound, between 50 ms and 1 s (a caught-up replica then never reaches the bound between checks). */
  checkIntervalMs?: number;
  clock?: () => number;
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Called once per reader with where it was pinned, and once per fallback of a replica-pinned reader. */
  onRead?: (target: 'replica' | 'primary') => void;
}

/** `16/B374D848` → a comparable integer (pg_lsn's text form: high and low 32 bits in hex). */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/**
 * Samples kept while the replica is behind: beyond this many the oldest go. The anchor already proven stays a valid bound,
 * only a coarser one until the replica replays a kept sample.
 */
const MAX_SAMPLES = 10_000;
/** A statement on the standby cancelled because replay needed its rows (max_standby_streaming_delay): retry on the primary. */
const RECOVERY_CONFLICT = '40001';
/** The cluster's identity, set by initdb and kept by every physical standby made from it (executable by every role). */
const SYSTEM_ID = '(SELECT system_identifier::text FROM pg_control_system())';
/**
 * SQLSTATE classes that say the replica, not the statement, is the problem: connection (08), authorization (28, a rotated
 * password), database missing (3D), resources (53), operator intervention (57), system (58). A statement error (bad input)
 * would fail on the primary too and is passed on unchanged.
 */
const REPLICA_FAULT_CLASSES = new Set(['08', '28', '3D', '53', '57', '58']);

export function createReadRouter(o: ReadRouterOptions): ReadRouter {
  const clock = o.clock ?? Date.now;
  const interval = o.checkIntervalMs ?? Math.min(1000, Math.max(50, Math.floor(o.maxLagMs / 2)));
  let state: ReplicaState = 'lagging';
  /** The state last logged; null before the first check (a replica that is fine from the start is not worth a line). */
  let logged: ReplicaState | null = null;
  /** Primary WAL positions with the time just before each was read, oldest first, none yet replayed by the replica. */
  let samples: Array<{ at: number; lsn: bigint }> = [];
  /** The newest sample time whose position the replica has replayed: its staleness is at most now − anchor. */
  let anchor: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<ReplicaStatus> | null = null;

  const lagNow = () => (anchor === null ? null : Math.max(0, clock() - anchor));
  const usable = () => {
    const lag = lagNow();
    return state === 'ok' && lag !== null && lag <= o.maxLagMs;
  };
  const status = (): ReplicaStatus => {
    const lag = lagNow();
    const s: ReplicaState = state === 'ok' && (lag === null || lag > o.maxLagMs) ? 'lagging' : state;
    return { state: s, usable: s === 'ok', lagMs: lag, maxLagMs: o.maxLagMs };
  };

  /** Logs once when the replica stops being used and once when it is used again (not once per check or per read). */
  const settle = (next: ReplicaState, err?: unknown) => {
    state = next;
    const now = status().state;
    if (now === logged) return;
    const was = logged;
    logged = now;
    if (now === 'ok') {
      if (was !== null) o.logger?.info({ replica: now, was, lagMs: lagNow() }, 'read replica in use again');
      return;
    }
    // The driver's error behind the 503-style wrapper says what is wrong (refused, authentication, timeout).
    const e = ((err as { cause?: unknown } | undefined)?.cause ?? err) as { message?: string; code?: string } | undefined;
    o.logger?.warn(
      { replica: now, ...(was ? { was } : {}), lagMs: lagNow(), maxLagMs: o.maxLagMs, ...(e ? { err: { message: e.message, code: e.code } } : {}) },
      'read replica not used; reads go to the primary',
    );
  };

  async function measure(): Promise<ReplicaStatus> {
    const at = clock();
    let primaryLsn: bigint;
    let primaryId: string;
    try {
      const r = await o.primary.query<{ lsn: string; id: string }>(`SELECT pg_current_wal_lsn()::text AS lsn, ${SYSTEM_ID} AS id`);
      primaryLsn = parseLsn(r.rows[0]!.lsn);
      primaryId = r.rows[0]!.id;
    } catch (e) {
      settle('unknown', e);
      return status();
    }
    let standby: boolean;
    let replayed: bigint | null;
    try {
      const r = await o.replica.query<{ standby: boolean; replayed: string | null; id: string }>(
        `SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed, ${SYSTEM_ID} AS id`,
      );
      // LSNs of two clusters are unrelated: only a standby of this primary (same system identifier) is comparable.
      standby = r.rows[0]!.standby && r.rows[0]!.id === primaryId;
      replayed = r.rows[0]!.replayed === null ? null : parseLsn(r.rows[0]!.replayed);
    } catch (e) {
      settle('down', e);
      return status();
    }
    if (!standby) {
      samples = [];
      anchor = null;
      settle('not_standby');
      return status();
    }
    samples.push({ at, lsn: primaryLsn });
    if (samples.length > MAX_SAMPLES) samples = samples.slice(-MAX_SAMPLES);
    if (replayed !== null) {
      let i = -1;
      for (let k = 0; k < samples.length && samples[k]!.lsn <= replayed; k++) i = k;
      if (i >= 0) {
        anchor = Math.max(anchor ?? 0, samples[i]!.at);
        samples = samples.slice(i + 1);
      }
    }
    settle('ok');
    return status();
  }

  const check = () => {
    running ??= measure().finally(() => {
      running = null;
    });
    return running;
  };

  const replicaFault = (e: unknown) => e instanceof DatabaseUnavailableError || REPLICA_FAULT_CLASSES.has(sqlState(e)?.slice(0, 2) ?? '');

  return {
    reader(): Queryable {
      let onReplica = usable();
      o.onRead?.(onReplica ? 'replica' : 'primary');
      const run = async <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => {
        if (onReplica) {
          try {
            return await fn(o.replica);
          } catch (e) {
            const fault = replicaFault(e);
            if (!fault && sqlState(e) !== RECOVERY_CONFLICT) throw e;
            onReplica = false;
            // A fault takes the replica out until a check reaches it again; a recovery conflict only moves this read.
            if (fault) settle('down', e);
            o.onRead?.('primary');
          }
        }
        return fn(o.primary);
      };
      return {
        query: <R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> => run((q) => q.query<R>(sql, params)),
        exec: (sql: string) => run((q) => q.exec(sql)),
      };
    },
    async snapshot<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      if (usable()) {
        o.onRead?.('replica');
        try {
          return await o.replica.transaction(fn);
        } catch (e) {
          const fault = replicaFault(e);
          if (!fault && sqlState(e) !== RECOVERY_CONFLICT) throw e;
          if (fault) settle('down', e);
        }
      }
      o.onRead?.('primary');
      return o.primary.transaction(fn);
    },
    status,
    check,
    start() {
      if (timer) return;
      void check();
      timer = setInterval(() => void check(), interval);
      timer.unref();
    },
    async close() {
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
  };
}
