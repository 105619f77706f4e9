import { sealEvent, type AuditEvent, type AuditEventInput, GENESIS_HASH } from '../../domain/audit-chain';
import type { Queryable } from './db';

/**
 * Serialises appends across connections and instances: the chain never forks and seq stays gap-free. Why several instances
 * cannot fork it: the lock is database-wide (not per process); it is a transaction lock, released only after the holder's
 * commit is visible to others; transactions run at READ COMMITTED, so the head read after taking it is a fresh snapshot that
 * includes the previous holder's event; and should a writer ever skip the lock, two events on one predecessor would share a
 * seq, which the primary key refuses. test/integration/multi-instance.test.ts checks it with two service processes.
 */
export const AUDIT_APPEND_LOCK_KEY = 7_406_331_902;

interface AuditRow {
  seq: number;
  at: Date;
  actor: AuditEvent['actor'];
  type: AuditEvent['type'];
  subject_ids: string[];
  search_id: string | null;
  payload: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

const COLUMNS = 'seq, at, actor, type, subject_ids, search_id, payload, prev_hash, hash';

function toEvent(r: AuditRow): AuditEvent {
  return {
    seq: Number(r.seq),
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    type: r.type,
    subjectIds: r.subject_ids ?? [],
    searchId: r.search_id,
    payload: r.payload,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface AuditFilter {
  from?: Date;
  to?: Date;
  keyId?: string;
  organization?: string;
  type?: string;
  subjectId?: string;
  searchId?: string;
  afterSeq?: number;
  limit: number;
}

export function createAuditRepo() {
  return {
    /**
     * Appends one event inside the caller's transaction (the action and its record commit or roll back together).
     * The transaction-level advisory lock is held until that transaction ends.
     */
    /**
     * Takes the append lock now, for the rest of the caller's transaction: what the transaction reads afterwards cannot be
     * changed by another audited write before its own event is appended (a search's gallery snapshot). Re-entrant.
     */
    async lock(tx: Queryable): Promise<void> {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_APPEND_LOCK_KEY]);
    },

    async append(tx: Queryable, input: AuditEventInput, now = new Date()): Promise<AuditEvent> {
      await this.lock(tx);
      const head = (await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1'))
        .rows[0];
      // Timestamps are stored with microsecond precision; the event is sealed with the millisecond value it will read back as.
      const at = new Date(Math.floor(now.getTime()));
      const event = sealEvent(input, head ? Number(head.seq) + 1 : 1, head?.hash ?? GENESIS_HASH, at);
      await tx.query(
        `INSERT INTO audit_event (${COLUMNS}) VALUES ($1, $2, $3::jsonb, $4, $5::uuid[], $6, $7::jsonb, $8, $9)`,
        [
          event.seq,
          event.at,
          JSON.stringify(event.actor),
          event.type,
          event.subjectIds,
          event.searchId,
          JSON.stringify(event.payload),
          event.prevHash,
          event.hash,
        ],
      );
      return event;
    },

    async list(db: Queryable, f: AuditFilter): Promise<AuditEvent[]> {
      const r = await db.query<AuditRow>(
        `SELECT ${COLUMNS} FROM audit_event
          WHERE ($1::timestamptz IS NULL OR at >= $1)
            AND ($2::timestamptz IS NULL OR at < $2)
            AND ($3::text IS NULL OR actor->>'keyId' = $3)
            AND ($4::text IS NULL OR actor->>'organization' = $4)
            AND ($5::text IS NULL OR type = $5)
            AND ($6::uuid IS NULL OR subject_ids @> ARRAY[$6::uuid])
            AND ($7::uuid IS NULL OR search_id = $7)
            AND seq > $8
          ORDER BY seq
          LIMIT $9`,
        [
          f.from ?? null,
          f.to ?? null,
          f.keyId ?? null,
          f.organization ?? null,
          f.type ?? null,
          f.subjectId ?? null,
          f.searchId ?? null,
          f.afterSeq ?? 0,
          f.limit,
        ],
      );
      return r.rows.map(toEvent);
    },

    /** Events in seq order, a page at a time (verification and export stream through these). */
    async *iterate(db: Queryable, opts: { from?: Date; to?: Date; pageSize?: number } = {}): AsyncGenerator<AuditEvent> {
      let after = 0;
      const pageSize = opts.pageSize ?? 1000;
      for (;;) {
        const page = await this.list(db, { from: opts.from, to: opts.to, afterSeq: after, limit: pageSize });
        for (const e of page) yield e;
        if (page.length < pageSize) return;
        after = page[page.length - 1]!.seq;
      }
    },

    async head(db: Queryable): Promise<{ seq: number; hash: string } | null> {
      const r = await db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1');
      return r.rows[0] ? { seq: Number(r.rows[0].seq), hash: r.rows[0].hash } : null;
    },
  };
}

export type AuditRepo = ReturnType<typeof createAuditRepo>;
