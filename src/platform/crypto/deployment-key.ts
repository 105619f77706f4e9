import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The deployment's own Ed25519 identity: it signs what this deployment says to parties that do not trust its database (audit
 * checkpoints written outside it, federation requests and answers to partner deployments). The private key lives in a file
 * (never in the database, so the database owner cannot sign with it) and never leaves this process.
 */
export interface DeploymentKey {
  /** base64url of the first 16 bytes of SHA-256 over the raw 32-byte public key: stable, short, derived, never assigned. */
  readonly keyId: string;
  /** SPKI PEM, for operators to exchange out of band. */
  readonly publicKeyPem: string;
  /** RFC 8037 OKP JWK of the public key (kty OKP, crv Ed25519, x = base64url raw key), with its kid. */
  readonly publicJwk: { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string };
  sign(data: Buffer | string): Buffer;
}

export const DEFAULT_KEY_FILE = 'deployment-key.pem';

const rawPublic = (k: KeyObject): Buffer => Buffer.from(k.export({ format: 'jwk' }).x as string, 'base64url');

export function ed25519KeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublic(publicKey)).digest().subarray(0, 16).toString('base64url');
}

/** A public key from PEM (SPKI), a JWK object, or base64url of the raw 32 bytes; throws on anything that is not Ed25519. */
export function parseEd25519PublicKey(input: string | { kty: string; crv: string; x: string }): KeyObject {
  let key: KeyObject;
  if (typeof input === 'object') key = createPublicKey({ key: { kty: input.kty, crv: input.crv, x: input.x }, format: 'jwk' });
  else if (input.includes('BEGIN')) key = createPublicKey(input);
  else key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: input.trim() }, format: 'jwk' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 public key (${key.asymmetricKeyType})`);
  return key;
}

export function verifyEd25519(publicKey: KeyObject, data: Buffer | string, signature: Buffer): boolean {
  try {
    return verify(null, Buffer.isBuffer(data) ? data : Buffer.from(data), publicKey, signature);
  } catch {
    return false;
  }
}

/** The DeploymentKey of an Ed25519 private key already in memory (tests make throwaway ones). */
export function deploymentKeyFrom(privateKey: KeyObject): DeploymentKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the deployment key must be Ed25519, not ${privateKey.asymmetricKeyType}`);
  const publicKey = createPublicKey(privateKey);
  const keyId = ed25519KeyId(publicKey);
  return Object.freeze({
    keyId,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicJwk: { kty: 'OKP' as const, crv: 'Ed25519' as const, x: rawPublic(publicKey).toString('base64url'), kid: keyId },
    sign: (data: Buffer | string) => sign(null, Buffer.isBuffer(data) ? data : Buffer.from(data), privateKey),
  });
}

/**
 * Loads the key from `file` (PKCS#8 PEM) when given; otherwise from `<dataDir>/deployment-key.pem`, generating it there on the
 * first start (mode 0600, written to a temporary name and renamed, so two instances starting at once keep one key). Several
 * instances of one deployment must share one key file (docs/deploy.md).
 */
export function loadDeploymentKey(opts: { file?: string; dataDir: string }): DeploymentKey {
  if (opts.file) return deploymentKeyFrom(createPrivateKey(fs.readFileSync(opts.file)));
  const file = path.join(opts.dataDir, DEFAULT_KEY_FILE);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  return deploymentKeyFrom(createPrivateKey(fs.readFileSync(file)));
}

/** A key that lives only in this process (an in-memory data directory, `memory://`, has nowhere to keep one). */
export function ephemeralDeploymentKey(): DeploymentKey {
  return deploymentKeyFrom(generateKeyPairSync('ed25519').privateKey);
}
