import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_KEY_FILE, loadDeploymentKey, parseEd25519PublicKey, verifyEd25519 } from '../../src/platform/crypto/deployment-key';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fm-dkey-'));

describe('deployment key', () => {
  it('is generated once under the data folder, private to its owner, and the same key is loaded on the next start', () => {
    const dir = tmp();
    const a = loadDeploymentKey({ dataDir: dir });
    const file = path.join(dir, DEFAULT_KEY_FILE);
    expect(fs.statSync(file).mode & 0o077).toBe(0);
    const b = loadDeploymentKey({ dataDir: dir });
    expect(b.keyId).toBe(a.keyId);
    expect(b.publicKeyPem).toBe(a.publicKeyPem);
    expect(fs.readdirSync(dir)).toEqual([DEFAULT_KEY_FILE]);
  });

  it('signs so that its published public key (PEM, JWK or raw) verifies, and a changed message or signature does not', () => {
    const k = loadDeploymentKey({ dataDir: tmp() });
    const sig = k.sign('checkpoint 42');
    for (const pub of [k.publicKeyPem, k.publicJwk, k.publicJwk.x]) {
      const key = parseEd25519PublicKey(pub);
      expect(verifyEd25519(key, 'checkpoint 42', sig)).toBe(true);
      expect(verifyEd25519(key, 'checkpoint 43', sig)).toBe(false);
    }
    const bad = Buffer.from(sig);
    bad[0] = bad[0]! ^ 1;
    expect(verifyEd25519(parseEd25519PublicKey(k.publicJwk), 'checkpoint 42', bad)).toBe(false);
    expect(verifyEd25519(parseEd25519PublicKey(k.publicJwk), 'checkpoint 42', Buffer.alloc(3))).toBe(false);
  });

  it('loads an operator-provided key file and refuses a key that is not Ed25519', () => {
    const dir = tmp();
    const { privateKey } = generateKeyPairSync('ed25519');
    const own = path.join(dir, 'own.pem');
    fs.writeFileSync(own, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const k = loadDeploymentKey({ file: own, dataDir: dir });
    expect(k.keyId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(fs.existsSync(path.join(dir, DEFAULT_KEY_FILE))).toBe(false);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsaFile = path.join(dir, 'rsa.pem');
    fs.writeFileSync(rsaFile, rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    expect(() => loadDeploymentKey({ file: rsaFile, dataDir: dir })).toThrow(/Ed25519/);
    expect(() => parseEd25519PublicKey(rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString())).toThrow(/Ed25519/);
  });
});
