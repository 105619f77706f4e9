import { randomBytes } from 'node:crypto';
import { sealEvent, textHmac, type AuditEvent, type AuditEventInContext, type AuditEventInput, type AuditFilter, type AuditLog, type AuditViewFilter, type AuditText, GENESIS_HASH } from './audit.model';
import type { Queryable } from '../../shared/db';

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

/** The free-text fields an event may carry as `<field>Hmac` (AuditEventInput.text), in payload order. */
const TEXT_FIELDS = ['purpose', 'caseRef', 'rationale'] as const satisfies ReadonlyArray<keyof AuditText>;

const COLUMNS = 'seq, at, actor, type, subject_ids, search_id, payload, prev_hash, hash';

interface ViewRow extends AuditRow {
  context_holder: string | null;
  context_purpose: string | null;
  context_case_ref: string | null;
}

/**
 * The auditor's timeline, in either direction (the statement text is fixed per direction; nothing is interpolated from input).
 * The holder is the acting key's (keys' holders never change); purpose and case come from the event's payload (events
 * written before migration 0130 carry the text), its audit_text row (later events: the payload has only HMACs), or the search
 * the event is about (review.recorded). A case reference selects the events of every search with that case and the events
 * naming it themselves, through audit_event_search_idx, search_case_ref_idx, audit_event_case_ref_idx (migration 0101) and
 * audit_text_case_ref_idx (0130). After an erasure the redacted rows show the redaction marker.
 */
const viewSql = (order: 'asc' | 'desc') => `
  SELECT e.seq, e.at, e.actor, e.type, e.subject_ids, e.search_id, e.payload, e.prev_hash, e.hash,
         k.holder AS context_holder,
         COALESCE(e.payload->>'purpose', t.purpose, s.purpose) AS context_purpose,
         COALESCE(e.payload->>'caseRef', t.case_ref, s.case_ref) AS context_case_ref
    FROM audit_event e
    LEFT JOIN api_key k ON k.id::text = e.actor->>'keyId'
    LEFT JOIN audit_text t ON t.seq = e.seq
    LEFT JOIN search s ON s.id = e.search_id
   WHERE ($1::timestamptz IS NULL OR e.at >= $1)
     AND ($2::timestamptz IS NULL OR e.at < $2)
     AND ($3::text IS NULL OR e.actor->>'keyId' = $3)
     AND ($4::text IS NULL OR e.actor->>'organization' = $4)
     AND ($5::text IS NULL OR e.type = $5)
     AND ($6::uuid IS NULL OR e.subject_ids @> ARRAY[$6::uuid])
     AND ($7::uuid IS NULL OR e.search_id = $7)
     AND ($8::text IS NULL OR e.actor->>'keyId' IN (SELECT id::text FROM api_key WHERE holder = $8))
     AND ($9::text IS NULL OR e.payload->>'caseRef' = $9 OR e.seq IN (SELECT seq FROM audit_text WHERE case_ref = $9)
          OR e.search_id IN (SELECT id FROM search WHERE case_ref = $9))
     AND ($10::bigint IS NULL OR e.seq ${order === 'asc' ? '>' : '<'} $10)
   ORDER BY e.seq ${order === 'asc' ? 'ASC' : 'DESC'}
   LIMIT $11`;
const VIEW_SQL = { asc: viewSql('asc'), desc: viewSql('desc') };

/** $1 … $7 of both listings: the time window, actor key, organization, type, subject and search. */
const filterParams = (f: Omit<AuditFilter, 'afterSeq' | 'limit'>) => [
  f.from ?? null,
  f.to ?? null,
  f.keyId ?? null,
  f.organization ?? null,
  f.type ?? null,
  f.subjectId ?? null,
  f.searchId ?? null,
];

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


export function createAuditRepo() {
  const repo = {
    /**
     * Appends one event inside the caller's transaction (the action and its record commit or roll back together).
     * The transaction-level advisory lock is held until that transaction ends.
     */
    /**
     * Takes the append lock now, for the rest of the caller's transaction: what the transaction reads afterwards cannot be
     * changed by another audited write before its own event is appended (a search re-checks its candidates after it).
     * Re-entrant.
     */
    async lock(tx: Queryable): Promise<void> {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_APPEND_LOCK_KEY]);
    },

    /**
     * Makes the caller's transaction a REPEATABLE READ, READ ONLY snapshot and returns the chain head visible in it (seq 0 and
     * the genesis hash on an empty chain). Must be the transaction's first statement: its SELECT takes the snapshot, and every
     * later read of the transaction sees that same snapshot, without the append lock.
     *
     * Why the head names exactly the audited state the snapshot holds: every audited change appends its event under the
     * append lock and keeps it until it commits, and PostgreSQL makes a commit visible before it releases the transaction's
     * locks; so the next audited change can take the lock (and later commit) only after the previous one is visible. Commits
     * of audited changes are ordered by seq, and any snapshot holds a prefix of them: exactly the events up to its head.
     */
    async snapshotHead(tx: Queryable): Promise<{ seq: number; hash: string }> {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      return (await this.head(tx)) ?? { seq: 0, hash: GENESIS_HASH };
    },

    async append(tx: Queryable, input: AuditEventInput, now = new Date()): Promise<AuditEvent> {
      await this.lock(tx);
      const head = (await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1'))
        .rows[0];
      // Timestamps are stored with microsecond precision; the event is sealed with the millisecond value it will read back as.
      const at = new Date(Math.floor(now.getTime()));
      const { text, ...rest } = input;
      const fields = TEXT_FIELDS.filter((f) => text?.[f] !== undefined);
      const salt = fields.length ? randomBytes(32).toString('hex') : null;
      const payload = salt ? { ...rest.payload, ...Object.fromEntries(fields.map((f) => [`${f}Hmac`, textHmac(salt, text![f]!)])) } : rest.payload;
      const event = sealEvent({ ...rest, payload }, head ? Number(head.seq) + 1 : 1, head?.hash ?? GENESIS_HASH, at);
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
      if (salt) {
        await tx.query('INSERT INTO audit_text (seq, salt, purpose, case_ref, rationale) VALUES ($1, $2, $3, $4, $5)', [
          event.seq,
          salt,
          text!.purpose ?? null,
          text!.caseRef ?? null,
          text!.rationale ?? null,
        ]);
      }
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
        [...filterParams(f), f.afterSeq ?? 0, f.limit],
      );
      return r.rows.map(toEvent);
    },

    /** A page of the auditor's timeline, each event with its context (AuditEventContext). */
    async view(db: Queryable, f: AuditViewFilter): Promise<AuditEventInContext[]> {
      const r = await db.query<ViewRow>(VIEW_SQL[f.order], [...filterParams(f), f.holder ?? null, f.caseRef ?? null, f.cursor ?? null, f.limit]);
      return r.rows.map((x) => ({ ...toEvent(x), context: { holder: x.context_holder, purpose: x.context_purpose, caseRef: x.context_case_ref } }));
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

    /** The seq each audit.anchored event says it verified: the verifier needs those hashes during its one pass. */
    async anchoredTargets(db: Queryable): Promise<number[]> {
      const r = await db.query<{ s: string | null }>("SELECT payload->>'verifiedSeq' AS s FROM audit_event WHERE type = 'audit.anchored'");
      return r.rows.map((x) => Number(x.s)).filter((n) => Number.isSafeInteger(n) && n > 0);
    },

    async head(db: Queryable): Promise<{ seq: number; hash: string } | null> {
      const r = await db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1');
      return r.rows[0] ? { seq: Number(r.rows[0].seq), hash: r.rows[0].hash } : null;
    },
  };
  return repo satisfies AuditLog;
}

export type AuditRepo = ReturnType<typeof createAuditRepo>;
