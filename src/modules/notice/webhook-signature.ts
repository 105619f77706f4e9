import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): every delivery carries
 *   webhook-id         the notice id (the same on every retry: receivers deduplicate on it)
 *   webhook-timestamp  seconds since the epoch when this attempt was signed (receivers refuse stale ones)
 *   webhook-signature  `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, space-separated, one per valid secret
 * Secrets are `whsec_<base64 key>`; the HMAC key is the decoded bytes. During a rotation's overlap both the new and the
 * previous secret sign, so a receiver that knows either accepts the delivery. Secrets registered before this scheme (plain
 * strings) sign with their UTF-8 bytes until rotated.
 */
export const SECRET_PREFIX = 'whsec_';

/** A new secret: whsec_ + base64 of 32 random bytes. */
export const generateWebhookSecret = (): string => `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;

export function secretKey(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX) ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

export function signatureHeaders(secrets: string[], id: string, timestampSeconds: number, body: string): Record<string, string> {
  const signed = `${id}.${timestampSeconds}.${body}`;
  const sigs = secrets.map((s) => `v1,${createHmac('sha256', secretKey(s)).update(signed).digest('base64')}`);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': sigs.join(' ') };
}
