import type { Queryable } from '../../shared/db';
import type { AttemptOutcome, DeliveryRecord, DueDelivery, HitNotice, SealedSecret } from './notice.model';

/** Serialises delivery claims across instances, so the per-organization cap holds exactly. */
export const WEBHOOK_CLAIM_LOCK_KEY = 7_406_331_903;
import { toNotice, type NoticeRow } from './notice.repo';

export function createWebhookRepo() {
  return {
    async put(db: Queryable, organization: string, url: string, secret: SealedSecret): Promise<{ url: string; updatedAt: string }> {
      const r = await db.query<{ url: string; updated_at: Date }>(
        `INSERT INTO webhook (organization, url, secret_key_id, secret_nonce, secret_sealed) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (organization) DO UPDATE SET url = EXCLUDED.url, secret_key_id = EXCLUDED.secret_key_id,
           secret_nonce = EXCLUDED.secret_nonce, secret_sealed = EXCLUDED.secret_sealed, updated_at = now(),
           previous_secret_key_id = NULL, previous_secret_nonce = NULL, previous_secret_sealed = NULL, previous_valid_until = NULL
         RETURNING url, updated_at`,
        [organization, url, secret.keyId, secret.nonce, secret.ciphertext],
      );
      return { url: r.rows[0]!.url, updatedAt: new Date(r.rows[0]!.updated_at).toISOString() };
    },

    async get(db: Queryable, organization: string): Promise<{ url: string; updatedAt: string } | null> {
      const r = await db.query<{ url: string; updated_at: Date }>('SELECT url, updated_at FROM webhook WHERE organization = $1', [organization]);
      return r.rows[0] ? { url: r.rows[0].url, updatedAt: new Date(r.rows[0].updated_at).toISOString() } : null;
    },

    /** Removes the webhook; deliveries still pending are marked failed (nothing left to deliver them to). */
    async delete(db: Queryable, organization: string): Promise<boolean> {
      await db.query("UPDATE webhook_delivery SET status = 'failed' WHERE organization = $1 AND status = 'pending'", [organization]);
      return (await db.query('DELETE FROM webhook WHERE organization = $1', [organization])).rowCount > 0;
    },

    /**
     * Claims deliveries due at `now`: each gets its own lease (a fresh lease_id, lease_until = database clock + leaseMs), and an
     * organization never holds more than `perOrganization` live leases across all instances (the claim runs under a
     * transaction advisory lock, so two instances cannot both see room for the last slot). Run it in a transaction.
     */
    async claimDue(tx: Queryable, c: { now: Date; leaseMs: number; perOrganization: number; limit: number }): Promise<DueDelivery[]> {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [WEBHOOK_CLAIM_LOCK_KEY]);
      const r = await tx.query<NoticeRow & { delivery_id: string; lease_id: string; attempts: number; url: string; secret_key_id: string; secret_nonce: Uint8Array; secret_sealed: Uint8Array; previous_secret_key_id: string | null; previous_secret_nonce: Uint8Array | null; previous_secret_sealed: Uint8Array | null }>(
        `WITH active AS (
           SELECT organization, count(*)::int AS n FROM webhook_delivery
            WHERE lease_id IS NOT NULL AND lease_until > clock_timestamp() GROUP BY organization
         ), ranked AS (
           SELECT d.id, d.organization, d.next_attempt_at,
                  row_number() OVER (PARTITION BY d.organization ORDER BY d.next_attempt_at, d.id) AS rn
             FROM webhook_delivery d
            WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_id IS NULL OR d.lease_until <= clock_timestamp())
         ), due AS (
           SELECT r.id FROM ranked r LEFT JOIN active a USING (organization)
            WHERE r.rn <= $2 - COALESCE(a.n, 0)
            ORDER BY r.next_attempt_at, r.id LIMIT $3
         ), claimed AS (
           UPDATE webhook_delivery d SET lease_id = gen_random_uuid(), lease_until = clock_timestamp() + $4 * interval '1 millisecond'
             FROM due WHERE d.id = due.id RETURNING d.id, d.lease_id, d.notice_id, d.attempts, d.organization
         )
         SELECT c.id AS delivery_id, c.lease_id, c.attempts, h.url, h.secret_key_id, h.secret_nonce, h.secret_sealed,
                CASE WHEN h.previous_valid_until > $1 THEN h.previous_secret_key_id END AS previous_secret_key_id,
                CASE WHEN h.previous_valid_until > $1 THEN h.previous_secret_nonce END AS previous_secret_nonce,
                CASE WHEN h.previous_valid_until > $1 THEN h.previous_secret_sealed END AS previous_secret_sealed, n.*
           FROM claimed c JOIN hit_notice n ON n.id = c.notice_id JOIN webhook h ON h.organization = c.organization
          ORDER BY n.at, n.id`,
        [c.now, c.perOrganization, c.limit, c.leaseMs],
      );
      return r.rows.map((x) => ({
        id: x.delivery_id,
        leaseId: x.lease_id,
        attempts: x.attempts,
        url: x.url,
        secret: { keyId: x.secret_key_id, nonce: Buffer.from(x.secret_nonce), ciphertext: Buffer.from(x.secret_sealed) },
        previousSecret:
          x.previous_secret_key_id && x.previous_secret_nonce && x.previous_secret_sealed
            ? { keyId: x.previous_secret_key_id, nonce: Buffer.from(x.previous_secret_nonce), ciphertext: Buffer.from(x.previous_secret_sealed) }
            : null,
        notice: toNotice(x),
      }));
    },

    /** The organization's webhook URL with its sealed secret (a test delivery signs like a real one), or null. */
    async target(db: Queryable, organization: string): Promise<{ url: string; secret: SealedSecret } | null> {
      const r = await db.query<{ url: string; secret_key_id: string; secret_nonce: Uint8Array; secret_sealed: Uint8Array }>(
        'SELECT url, secret_key_id, secret_nonce, secret_sealed FROM webhook WHERE organization = $1',
        [organization],
      );
      const x = r.rows[0];
      return x ? { url: x.url, secret: { keyId: x.secret_key_id, nonce: Buffer.from(x.secret_nonce), ciphertext: Buffer.from(x.secret_sealed) } } : null;
    },

    /**
     * One try, recorded only by the holder of the lease it was sent under, and at most once per (delivery, attempt): the
     * delivery becomes delivered, stays pending until `nextAttemptAt`, or failed (null); its lease ends. False when the lease
     * was no longer this caller's (nothing is recorded then).
     */
    async recordAttempt(
      db: Queryable,
      a: { deliveryId: string; leaseId: string; attempt: number; at: Date; url: string; httpStatus: number | null; outcome: AttemptOutcome; delivered: boolean; nextAttemptAt: Date | null },
    ): Promise<boolean> {
      const r = await db.query(
        `WITH owned AS (
           UPDATE webhook_delivery SET attempts = $3, lease_id = NULL, lease_until = NULL,
             status = CASE WHEN $4::boolean THEN 'delivered' WHEN $5::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
             delivered_at = CASE WHEN $4::boolean THEN $6::timestamptz END,
             next_attempt_at = COALESCE($5::timestamptz, next_attempt_at)
           WHERE id = $1 AND lease_id = $2 RETURNING id
         )
         INSERT INTO webhook_attempt (delivery_id, attempt, at, url, http_status, error, outcome)
         SELECT id, $3, $6, $7, $8, $9, $9 FROM owned
         ON CONFLICT (delivery_id, attempt) DO NOTHING`,
        [a.deliveryId, a.leaseId, a.attempt, a.delivered, a.nextAttemptAt, a.at, a.url, a.httpStatus, a.outcome],
      );
      return r.rowCount > 0;
    },

    /** Rotation: the current secret becomes the previous one (signing too until `previousValidUntil`), `secret` the current. */
    async rotate(db: Queryable, organization: string, secret: SealedSecret, previousValidUntil: Date): Promise<{ updatedAt: string } | null> {
      const r = await db.query<{ updated_at: Date }>(
        `UPDATE webhook SET previous_secret_key_id = secret_key_id, previous_secret_nonce = secret_nonce, previous_secret_sealed = secret_sealed,
           previous_valid_until = $5, secret_key_id = $2, secret_nonce = $3, secret_sealed = $4, updated_at = now()
         WHERE organization = $1 RETURNING updated_at`,
        [organization, secret.keyId, secret.nonce, secret.ciphertext, previousValidUntil],
      );
      return r.rows[0] ? { updatedAt: new Date(r.rows[0].updated_at).toISOString() } : null;
    },

    async deliveries(db: Queryable, organization: string, limit: number): Promise<DeliveryRecord[]> {
      const r = await db.query<{ id: string; notice_id: string; status: DeliveryRecord['status']; next_attempt_at: Date; delivered_at: Date | null; attempts: DeliveryRecord['attempts'] | null }>(
        `SELECT d.id, d.notice_id, d.status, d.next_attempt_at, d.delivered_at,
                (SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at, 'outcome', COALESCE(a.outcome, CASE WHEN a.error IS NULL THEN 'delivered' ELSE 'http_other' END)) ORDER BY a.attempt)
                   FROM webhook_attempt a WHERE a.delivery_id = d.id) AS attempts
           FROM webhook_delivery d WHERE d.organization = $1 ORDER BY d.created_at DESC, d.id LIMIT $2`,
        [organization, limit],
      );
      return r.rows.map((x) => ({
        id: x.id,
        noticeId: x.notice_id,
        status: x.status,
        attempts: (x.attempts ?? []).map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
        nextAttemptAt: x.status === 'pending' ? new Date(x.next_attempt_at).toISOString() : null,
        deliveredAt: x.delivered_at ? new Date(x.delivered_at).toISOString() : null,
      }));
    },
  };
}

export type WebhookRepo = ReturnType<typeof createWebhookRepo>;
