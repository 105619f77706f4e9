import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

/** API key secrets: generated, located and verified here; the database keeps a lookup prefix and an scrypt hash only. */
const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>;

// scrypt cost: N=2^14, r=8, p=1 (~40 ms, 16 MiB), the interactive-login setting recommended by the scrypt paper.
const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

/** A new secret: `fm_` + 32 random bytes (base64url). Shown once; only its scrypt hash is stored. */
export function generateToken(): string {
  return `fm_${randomBytes(32).toString('base64url')}`;
}

/** Non-secret row locator derived from the token (64 bits of its SHA-256): finds the row, cannot verify the key. */
export function tokenLookup(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export async function hashToken(token: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(token, salt, KEYLEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyToken(token: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(token, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
