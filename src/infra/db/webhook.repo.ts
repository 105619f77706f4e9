import type { Queryable } from './db';
import { toNotice, type HitNotice, type NoticeRow } from './notice.repo';

export interface SealedSecret {
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

export interface DueDelivery {
  id: string;
  attempts: number;
  url: string;
  secret: SealedSecret;
  notice: HitNotice;
}

export interface DeliveryRecord {
  id: string;
  noticeId: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: Array<{ attempt: number; at: string; url: string; httpStatus: number | null; error: string | null }>;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

export function createWebhookRepo() {
  return {
    async put(db: Queryable, organization: string, url: string, secret: SealedSecret): Promise<{ url: string; updatedAt: string }> {
      const r = await db.query<{ url: string; updated_at: Date }>(
        `INSERT INTO webhook (organization, url, secret_key_id, secret_nonce, secret_sealed) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (organization) DO UPDATE SET url = EXCLUDED.url, secret_key_id = EXCLUDED.secret_key_id,
           secret_nonce = EXCLUDED.secret_nonce, secret_sealed = EXCLUDED.secret_sealed, updated_at = now()
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
     * Claims up to `limit` deliveries due at `now` by pushing their next attempt to `leaseUntil` (so a slow POST is not sent twice
     * by another instance: SKIP LOCKED + lease); the caller then records the outcome with `recordAttempt`.
     */
    async claimDue(db: Queryable, now: Date, leaseUntil: Date, limit: number): Promise<DueDelivery[]> {
      const r = await db.query<NoticeRow & { delivery_id: string; attempts: number; url: string; secret_key_id: string; secret_nonce: Uint8Array; secret_sealed: Uint8Array }>(
        `WITH due AS (
           SELECT d.id FROM webhook_delivery d
            WHERE d.status = 'pending' AND d.next_attempt_at <= $1
            ORDER BY d.next_attempt_at, d.id LIMIT $3 FOR UPDATE SKIP LOCKED
         ), claimed AS (
           UPDATE webhook_delivery d SET next_attempt_at = $2 FROM due WHERE d.id = due.id RETURNING d.id, d.notice_id, d.attempts, d.organization
         )
         SELECT c.id AS delivery_id, c.attempts, h.url, h.secret_key_id, h.secret_nonce, h.secret_sealed, n.*
           FROM claimed c JOIN hit_notice n ON n.id = c.notice_id JOIN webhook h ON h.organization = c.organization
          ORDER BY n.at, n.id`,
        [now, leaseUntil, limit],
      );
      return r.rows.map((x) => ({
        id: x.delivery_id,
        attempts: x.attempts,
        url: x.url,
        secret: { keyId: x.secret_key_id, nonce: Buffer.from(x.secret_nonce), ciphertext: Buffer.from(x.secret_sealed) },
        notice: toNotice(x),
      }));
    },

    /** One try: appended to webhook_attempt; the delivery becomes delivered, stays pending until `nextAttemptAt`, or failed (null). */
    async recordAttempt(
      db: Queryable,
      a: { deliveryId: string; attempt: number; at: Date; url: string; httpStatus: number | null; error: string | null; delivered: boolean; nextAttemptAt: Date | null },
    ): Promise<void> {
      await db.query('INSERT INTO webhook_attempt (delivery_id, attempt, at, url, http_status, error) VALUES ($1, $2, $3, $4, $5, $6)', [
        a.deliveryId,
        a.attempt,
        a.at,
        a.url,
        a.httpStatus,
        a.error,
      ]);
      await db.query(
        `UPDATE webhook_delivery SET attempts = $2,
           status = CASE WHEN $3::boolean THEN 'delivered' WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
           delivered_at = CASE WHEN $3::boolean THEN $5::timestamptz END,
           next_attempt_at = COALESCE($4::timestamptz, next_attempt_at)
         WHERE id = $1`,
        [a.deliveryId, a.attempt, a.delivered, a.nextAttemptAt, a.at],
      );
    },

    async deliveries(db: Queryable, organization: string, limit: number): Promise<DeliveryRecord[]> {
      const r = await db.query<{ id: string; notice_id: string; status: DeliveryRecord['status']; next_attempt_at: Date; delivered_at: Date | null; attempts: DeliveryRecord['attempts'] | null }>(
        `SELECT d.id, d.notice_id, d.status, d.next_attempt_at, d.delivered_at,
                (SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at, 'url', a.url, 'httpStatus', a.http_status, 'error', a.error) ORDER BY a.attempt)
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
