import type { AuditRepo } from '../infra/db/audit.repo';
import type { Db, Queryable } from '../infra/db/db';
import type { HitNotice, NoticeRepo } from '../infra/db/notice.repo';
import type { WebhookRepo } from '../infra/db/webhook.repo';
import type { ImageCipher } from '../infra/crypto/image-cipher';
import { actorOf } from './actor';
import type { Principal } from './api-key';
import { decodeCursor, encodeCursor } from './cursor';
import { NotFoundError } from './errors';

/** What a notice looks like to its owner (inbox and webhook body): API.md's fields, nothing else. */
export const noticeView = ({ organization: _owner, ...n }: HitNotice) => n;

/** Additional authenticated data binding a sealed webhook secret to its organization. */
export const webhookSecretAad = (organization: string) => `webhook-secret:${organization}`;

/** The hit-notice inbox and the organization's webhook. Tenant rule: an organization reads its own notices; `*` reads all. */
export function createNoticeService(d: {
  db: Db;
  notices: NoticeRepo;
  webhooks: WebhookRepo;
  audit: AuditRepo;
  cipher: ImageCipher;
  /** Where the inbox may read (a read replica within its lag bound, else the primary); the webhook settings use `db`. */
  reads?: () => Queryable;
}) {
  const { db, notices, webhooks, audit } = d;
  return {
    async list(p: Principal, q: { cursor?: string; limit: number }) {
      const rows = await notices.list(d.reads?.() ?? db, { organization: p.organization === '*' ? null : p.organization, after: decodeCursor(q.cursor), limit: q.limit + 1 });
      const items = rows.slice(0, q.limit);
      const last = items[items.length - 1];
      return { items: items.map(noticeView), nextCursor: rows.length > q.limit && last ? encodeCursor({ createdAt: last.at, id: last.id }) : null };
    },

    /** Sets the organization's webhook; the secret is stored sealed (AES-256-GCM) and never returned. */
    async setWebhook(p: Principal, w: { url: string; secret: string }) {
      return db.transaction(async (tx) => {
        const sealed = d.cipher.sealFor(Buffer.from(w.secret, 'utf8'), webhookSecretAad(p.organization));
        const out = await webhooks.put(tx, p.organization, w.url, sealed);
        await audit.append(tx, { type: 'webhook.set', actor: actorOf(p), payload: { url: w.url } });
        return { organization: p.organization, ...out };
      });
    },

    async webhook(p: Principal) {
      const w = await webhooks.get(db, p.organization);
      if (!w) throw new NotFoundError('Webhook');
      return { organization: p.organization, ...w, deliveries: await webhooks.deliveries(db, p.organization, 50) };
    },

    async deleteWebhook(p: Principal) {
      await db.transaction(async (tx) => {
        if (!(await webhooks.delete(tx, p.organization))) throw new NotFoundError('Webhook');
        await audit.append(tx, { type: 'webhook.deleted', actor: actorOf(p), payload: {} });
      });
    },
  };
}

export type NoticeService = ReturnType<typeof createNoticeService>;
