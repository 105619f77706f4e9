import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** AES-256-GCM for enrolled images at rest. The key never reaches the database; `keyId` records which key sealed a row. */
export interface ImageCipher {
  readonly keyId: string;
  seal(plain: Buffer): { nonce: Buffer; ciphertext: Buffer; keyId: string };
  open(sealed: { nonce: Buffer; ciphertext: Buffer; keyId: string }, aad: string): Buffer;
  sealFor(plain: Buffer, aad: string): { nonce: Buffer; ciphertext: Buffer; keyId: string };
}

const TAG_BYTES = 16;

export function createImageCipher(key: Buffer): ImageCipher {
  if (key.length !== 32) throw new Error('the image encryption key must be 32 bytes');
  const keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const sealFor = (plain: Buffer, aad: string) => {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(plain), c.final()]);
    return { nonce, ciphertext: Buffer.concat([body, c.getAuthTag()]), keyId };
  };
  return {
    keyId,
    sealFor,
    seal: (plain) => sealFor(plain, ''),
    open(sealed, aad) {
      if (sealed.keyId !== keyId) throw new Error(`image sealed with key ${sealed.keyId}, not the configured key ${keyId}`);
      const d = createDecipheriv('aes-256-gcm', key, sealed.nonce);
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(sealed.ciphertext.subarray(sealed.ciphertext.length - TAG_BYTES));
      return Buffer.concat([d.update(sealed.ciphertext.subarray(0, sealed.ciphertext.length - TAG_BYTES)), d.final()]);
    },
  };
}

/**
 * The configured key, or in embedded mode a key file `DATA_DIR/image-key` created (0600) on first start.
 * A PostgreSQL deployment must configure FACEMATCH_ENCRYPTION_KEY: a key file on one instance's disk would make images
 * unreadable from the others.
 */
export function resolveImageKey(opts: { configured?: Buffer; embedded: boolean; dataDir: string }): Buffer {
  if (opts.configured) return opts.configured;
  if (!opts.embedded) throw new Error('FACEMATCH_ENCRYPTION_KEY is required when DATABASE_URL is set');
  if (opts.dataDir.startsWith('memory://')) return randomBytes(32);
  const file = path.join(opts.dataDir, 'image-key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
  return key;
}
