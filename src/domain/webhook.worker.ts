import { createHmac } from 'node:crypto';
import type { Db } from '../infra/db/db';
import type { WebhookRepo } from '../infra/db/webhook.repo';
import type { ImageCipher } from '../infra/crypto/image-cipher';
import { noticeView, webhookSecretAad } from './notice.service';

export type WebhookSend = (url: string, body: string, headers: Record<string, string>) => Promise<{ status: number }>;

export interface RetryPolicy {
  /** Delay after the first failed attempt; doubles after each further failure, capped at maxMs. */
  baseMs: number;
  maxMs: number;
  /** After this many failed attempts the delivery is marked failed (the notice stays in the inbox). */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 10_000, maxMs: 3_600_000, maxAttempts: 12 };

/** `X-FaceMatch-Signature: sha256=<hex HMAC-SHA256(secret, body)>` over the exact bytes sent. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Delay before attempt n+1 after n failed attempts: base · 2^(n−1), capped. */
export const backoffMs = (failedAttempts: number, r: RetryPolicy) => Math.min(r.maxMs, r.baseMs * 2 ** (failedAttempts - 1));

const fetchSend =
  (timeoutMs: number): WebhookSend =>
  async (url, body, headers) => {
    const res = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status };
  };

/**
 * Delivers hit notices from the outbox (webhook_delivery) to each owner's webhook. Tick-driven: `tick()` claims what is due by
 * the injected clock, POSTs each, and records the attempt; main.ts calls it on an interval, tests call it directly. A search
 * never waits for or fails because of delivery: the notice and its outbox row were committed with the search.
 */
export function createWebhookWorker(d: {
  db: Db;
  webhooks: WebhookRepo;
  cipher: ImageCipher;
  clock?: () => Date;
  send?: WebhookSend;
  retry?: RetryPolicy;
  batch?: number;
  timeoutMs?: number;
}) {
  const now = d.clock ?? (() => new Date());
  const retry = d.retry ?? DEFAULT_RETRY;
  const timeoutMs = d.timeoutMs ?? 10_000;
  const send = d.send ?? fetchSend(timeoutMs);
  let running: Promise<{ attempted: number; delivered: number }> | null = null;

  async function run() {
    const t = now();
    // The lease outlives a timed-out POST, so no other instance sends the same delivery meanwhile.
    const due = await d.db.transaction((tx) => d.webhooks.claimDue(tx, t, new Date(t.getTime() + timeoutMs * 3), d.batch ?? 20));
    let delivered = 0;
    for (const x of due) {
      const body = JSON.stringify(noticeView(x.notice));
      let httpStatus: number | null = null;
      let error: string | null = null;
      try {
        const secret = d.cipher.open(x.secret, webhookSecretAad(x.notice.organization)).toString('utf8');
        httpStatus = (await send(x.url, body, { 'Content-Type': 'application/json', 'X-FaceMatch-Signature': signature(secret, body), 'X-FaceMatch-Notice': x.notice.id })).status;
        if (httpStatus < 200 || httpStatus > 299) error = `HTTP ${httpStatus}`;
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause;
        error = (cause?.code ?? (e as Error).message ?? String(e)).slice(0, 500);
      }
      const attempt = x.attempts + 1;
      const ok = error === null;
      if (ok) delivered++;
      const at = now();
      await d.webhooks.recordAttempt(d.db, {
        deliveryId: x.id,
        attempt,
        at,
        url: x.url,
        httpStatus,
        error,
        delivered: ok,
        nextAttemptAt: ok || attempt >= retry.maxAttempts ? null : new Date(at.getTime() + backoffMs(attempt, retry)),
      });
    }
    return { attempted: due.length, delivered };
  }

  return {
    /** One pass over due deliveries; concurrent calls share the pass in progress. */
    tick(): Promise<{ attempted: number; delivered: number }> {
      running ??= run().finally(() => {
        running = null;
      });
      return running;
    },
    /** Resolves when the pass in progress (if any) has recorded its attempts: shutdown waits for it before closing the pool. */
    async drain(): Promise<void> {
      await running;
    },
  };
}

export type WebhookWorker = ReturnType<typeof createWebhookWorker>;
