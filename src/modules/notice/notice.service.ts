import { createHash, randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../shared/db';
import type { HitNotice, NoticeSink } from './notice.model';
import type { NoticeRepo } from './notice.repo';
import type { WebhookRepo } from './webhook.repo';
import type { ImageCipher } from '../../platform/crypto/image-cipher';
import { actorOf, type AuditLog } from '../audit/audit.model';
import type { Principal } from '../../shared/principal';
import { decodeCursor, encodeCursor } from '../../shared/cursor';
import { NotFoundError } from '../../shared/errors';
import { checkDestination, type DestinationPolicy } from '../../platform/http/outbound';
import { generateWebhookSecret } from './webhook-signature';

/** How a webhook URL enters the immutable audit chain: its origin and a hash, never a path or query token. */
const urlRecord = (url: string) => ({ origin: new URL(url).origin, urlSha256: createHash('sha256').update(url).digest('hex') });

/** What a notice looks like to its owner (inbox and webhook body): API.md's fields, nothing else. */
export const noticeView = ({ organization: _owner, ...n }: HitNotice) => n;

/** Additional authenticated data binding a sealed webhook secret to its organization. */
export const webhookSecretAad = (organization: string) => `webhook-secret:${organization}`;

/** The hit-notice inbox and the organization's webhook. Tenant rule: an organization reads its own notices; `*` reads all. */
export function createNoticeService(d: {
  db: Db;
  notices: NoticeRepo;
  webhooks: WebhookRepo;
  audit: AuditLog;
  cipher: ImageCipher;
  /** Where the inbox may read (a read replica within its lag bound, else the primary); the webhook settings use `db`. */
  reads?: () => Queryable;
  /** The destination policy webhook URLs must pass. */
  policy: DestinationPolicy;
  /** Sends a test delivery to an organization's webhook now (webhook.worker.ts sendTest); null when none is set. */
  sendTest?: (organization: string) => Promise<{ delivered: boolean; outcome: string; url: string } | null>;
}) {
  const { db, notices, webhooks, audit } = d;
  const service = {
    /** NoticeSink: the notice and, when the owner has a webhook, its outbox row, in the caller's transaction. */
    async record(tx: Queryable, n: Omit<HitNotice, 'id'>): Promise<void> {
      await notices.insert(tx, { id: randomUUID(), ...n }, randomUUID());
    },

    async list(p: Principal, q: { cursor?: string; limit: number }) {
      const rows = await notices.list(d.reads?.() ?? db, { organization: p.organization === '*' ? null : p.organization, after: decodeCursor(q.cursor), limit: q.limit + 1 });
      const items = rows.slice(0, q.limit);
      const last = items[items.length - 1];
      return { items: items.map(noticeView), nextCursor: rows.length > q.limit && last ? encodeCursor({ createdAt: last.at, id: last.id }) : null };
    },

    /**
     * Sets the organization's webhook after checking its URL against the destination policy (400 DESTINATION_REFUSED; checked
     * again at every delivery, since DNS answers change). The secret (`whsec_…`; generated when not given, and then returned
     * this once) is stored sealed (AES-256-GCM) and never returned again. The audit chain records the URL's origin and a
     * SHA-256 of the whole URL, never its path or query (which may carry the receiver's tokens).
     */
    async setWebhook(p: Principal, w: { url: string; secret?: string }) {
      await checkDestination(w.url, d.policy);
      const secret = w.secret ?? generateWebhookSecret();
      return db.transaction(async (tx) => {
        const sealed = d.cipher.sealFor(Buffer.from(secret, 'utf8'), webhookSecretAad(p.organization));
        const out = await webhooks.put(tx, p.organization, w.url, sealed);
        await audit.append(tx, { type: 'webhook.set', actor: actorOf(p), payload: urlRecord(w.url) });
        return { organization: p.organization, ...out, ...(w.secret ? {} : { secret }) };
      });
    },

    /**
     * Rotation: a new secret (returned this once) signs from now on; the previous one also signs for `overlapSeconds`, so
     * receivers can switch without losing a notice (each delivery carries one signature per valid secret).
     */
    async rotateSecret(p: Principal, r: { overlapSeconds: number }) {
      const secret = generateWebhookSecret();
      const previousValidUntil = new Date(Date.now() + r.overlapSeconds * 1000);
      return db.transaction(async (tx) => {
        const out = await webhooks.rotate(tx, p.organization, d.cipher.sealFor(Buffer.from(secret, 'utf8'), webhookSecretAad(p.organization)), previousValidUntil);
        if (!out) throw new NotFoundError('Webhook');
        await audit.append(tx, { type: 'webhook.secret_rotated', actor: actorOf(p), payload: { previousValidUntil: previousValidUntil.toISOString() } });
        return { organization: p.organization, secret, previousValidUntil: previousValidUntil.toISOString(), updatedAt: out.updatedAt };
      });
    },

    async webhook(p: Principal) {
      const w = await webhooks.get(db, p.organization);
      if (!w) throw new NotFoundError('Webhook');
      return { organization: p.organization, ...w, deliveries: await webhooks.deliveries(db, p.organization, 50) };
    },

    /** A signed test delivery to the organization's webhook, answered with what came of it; audited (`webhook.tested`). */
    async testWebhook(p: Principal) {
      const r = await d.sendTest?.(p.organization);
      if (!r) throw new NotFoundError('Webhook');
      await db.transaction((tx) => audit.append(tx, { type: 'webhook.tested', actor: actorOf(p), payload: { ...urlRecord(r.url), delivered: r.delivered, outcome: r.outcome } }));
      return { delivered: r.delivered, outcome: r.outcome };
    },

    async deleteWebhook(p: Principal) {
      await db.transaction(async (tx) => {
        if (!(await webhooks.delete(tx, p.organization))) throw new NotFoundError('Webhook');
        await audit.append(tx, { type: 'webhook.deleted', actor: actorOf(p), payload: {} });
      });
    },
  };
  return service satisfies NoticeSink;
}

export type NoticeService = ReturnType<typeof createNoticeService>;
