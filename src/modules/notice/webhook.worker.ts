import { randomUUID } from 'node:crypto';
import type { Db } from '../../shared/db';
import type { WebhookRepo } from './webhook.repo';
import type { AttemptOutcome, DueDelivery } from './notice.model';
import type { ImageCipher } from '../../platform/crypto/image-cipher';
import { DestinationRefusedError, OutboundError, outboundRequest, type DestinationPolicy } from '../../platform/http/outbound';
import { noticeView, webhookSecretAad } from './notice.service';
import { signatureHeaders } from './webhook-signature';

/** Sends one signed notice; answers the HTTP status, or throws DestinationRefusedError / OutboundError. */
export type WebhookSend = (url: string, body: string, headers: Record<string, string>) => Promise<{ status: number }>;

export interface RetryPolicy {
  /** Delay after the first failed attempt; doubles after each further failure, capped at maxMs. */
  baseMs: number;
  maxMs: number;
  /** After this many failed attempts the delivery is marked failed (the notice stays in the inbox). */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 10_000, maxMs: 3_600_000, maxAttempts: 12 };

/** Delay before attempt n+1 after n failed attempts: base · 2^(n−1), capped. */
export const backoffMs = (failedAttempts: number, r: RetryPolicy) => Math.min(r.maxMs, r.baseMs * 2 ** (failedAttempts - 1));

/** Bounds of one POST: a receiver gets this long and this much answer, then the connection is dropped. */
export const DELIVERY_LIMITS = { connectTimeoutMs: 5_000, totalTimeoutMs: 10_000, maxResponseBytes: 4 * 1024 };

const policySend =
  (policy: DestinationPolicy, tls?: { ca?: string | Buffer }): WebhookSend =>
  async (url, body, headers) => {
    const r = await outboundRequest(url, { method: 'POST', body, headers, policy, tls, ...DELIVERY_LIMITS });
    return { status: r.status };
  };

function outcomeOf(e: unknown): AttemptOutcome {
  if (e instanceof DestinationRefusedError) return 'destination_refused';
  if (e instanceof OutboundError) return ({ connect: 'connect_failed', timeout: 'timeout', tls: 'tls_failed', protocol: 'protocol_error' } as const)[e.kind];
  return 'protocol_error';
}

function outcomeOfStatus(status: number): AttemptOutcome {
  if (status >= 200 && status <= 299) return 'delivered';
  if (status >= 300 && status <= 399) return 'redirect_refused';
  if (status >= 400 && status <= 499) return 'http_4xx';
  if (status >= 500 && status <= 599) return 'http_5xx';
  return 'http_other';
}

/**
 * Delivers hit notices from the outbox (webhook_delivery) to each owner's webhook. `tick()` claims what is due by the injected
 * clock (each delivery under its own lease, at most `perOrganization` in flight per organization across instances, at most
 * `maxInFlight` in this process), POSTs them concurrently through the destination policy, and records each attempt under its
 * lease; it resolves when the deliveries it claimed are recorded. main.ts calls it every second without waiting for the last
 * one, so a slow receiver holds its own organization's slots, never another organization's notices. A search never waits
 * for or fails because of delivery: the notice and its outbox row were committed with the search.
 */
export function createWebhookWorker(d: {
  db: Db;
  webhooks: WebhookRepo;
  cipher: ImageCipher;
  policy: DestinationPolicy;
  clock?: () => Date;
  send?: WebhookSend;
  retry?: RetryPolicy;
  maxInFlight?: number;
  perOrganization?: number;
  tls?: { ca?: string | Buffer };
}) {
  const now = d.clock ?? (() => new Date());
  const retry = d.retry ?? DEFAULT_RETRY;
  const send = d.send ?? policySend(d.policy, d.tls);
  const maxInFlight = d.maxInFlight ?? 16;
  const perOrganization = d.perOrganization ?? 4;
  // The lease outlives the POST's total timeout by a margin, so it cannot end while this instance may still be sending.
  const leaseMs = DELIVERY_LIMITS.totalTimeoutMs + 30_000;
  const inFlight = new Set<Promise<boolean>>();
  let claiming: Promise<unknown> = Promise.resolve();

  async function deliver(x: DueDelivery): Promise<boolean> {
    const body = JSON.stringify(noticeView(x.notice));
    let outcome: AttemptOutcome;
    let httpStatus: number | null = null;
    try {
      const secrets = [x.secret, ...(x.previousSecret ? [x.previousSecret] : [])].map((s) => d.cipher.open(s, webhookSecretAad(x.notice.organization)).toString('utf8'));
      const headers = { 'Content-Type': 'application/json', ...signatureHeaders(secrets, x.notice.id, Math.floor(now().getTime() / 1000), body) };
      httpStatus = (await send(x.url, body, headers)).status;
      outcome = outcomeOfStatus(httpStatus);
    } catch (e) {
      outcome = outcomeOf(e);
    }
    const attempt = x.attempts + 1;
    const ok = outcome === 'delivered';
    const at = now();
    await d.webhooks.recordAttempt(d.db, {
      deliveryId: x.id,
      leaseId: x.leaseId,
      attempt,
      at,
      url: x.url,
      httpStatus,
      outcome,
      delivered: ok,
      nextAttemptAt: ok || attempt >= retry.maxAttempts ? null : new Date(at.getTime() + backoffMs(attempt, retry)),
    });
    return ok;
  }

  async function claim(): Promise<DueDelivery[]> {
    const room = maxInFlight - inFlight.size;
    if (room <= 0) return [];
    return d.db.transaction((tx) => d.webhooks.claimDue(tx, { now: now(), leaseMs, perOrganization, limit: room }));
  }

  return {
    /** Claims what is due and room allows, sends it all at once, resolves when those attempts are recorded. */
    async tick(): Promise<{ attempted: number; delivered: number }> {
      // Claims in this process one after another, so `room` is never counted twice.
      const claimed = claiming.then(claim);
      claiming = claimed.catch(() => undefined);
      const due = await claimed;
      const runs = due.map((x) => {
        const p = deliver(x).finally(() => inFlight.delete(p));
        inFlight.add(p);
        return p;
      });
      const results = await Promise.all(runs);
      return { attempted: due.length, delivered: results.filter(Boolean).length };
    },
    /**
     * A test delivery to the organization's webhook now, through the same destination policy and signed like a notice: body
     * `{test: true, id, at, organization}` and header `X-FaceMatch-Test: true`, so a receiver can tell it from a notice. Not
     * queued, not retried, not in the delivery log. Answers the outcome class only, as the delivery log does.
     */
    async sendTest(organization: string): Promise<{ delivered: boolean; outcome: AttemptOutcome; url: string } | null> {
      const target = await d.webhooks.target(d.db, organization);
      if (!target) return null;
      const id = randomUUID();
      const body = JSON.stringify({ test: true, id, at: now().toISOString(), organization });
      let outcome: AttemptOutcome;
      try {
        const secret = d.cipher.open(target.secret, webhookSecretAad(organization)).toString('utf8');
        const headers = { 'Content-Type': 'application/json', 'X-FaceMatch-Test': 'true', ...signatureHeaders([secret], id, Math.floor(now().getTime() / 1000), body) };
        outcome = outcomeOfStatus((await send(target.url, body, headers)).status);
      } catch (e) {
        outcome = outcomeOf(e);
      }
      return { delivered: outcome === 'delivered', outcome, url: target.url };
    },
    /** Resolves when every delivery in flight has recorded its attempt: shutdown waits for it before closing the pool. */
    async drain(): Promise<void> {
      await claiming;
      await Promise.allSettled([...inFlight]);
    },
  };
}

export type WebhookWorker = ReturnType<typeof createWebhookWorker>;
