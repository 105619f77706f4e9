import { Router } from 'express';
import { z } from 'zod';
import type { DeploymentKey } from '../crypto/deployment-key';
import type { OpenApi } from './openapi';

const jwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().describe('base64url of the raw 32-byte public key'),
  kid: z.string().describe('key id: base64url of the first 16 bytes of SHA-256 over the raw public key'),
  use: z.literal('sig'),
  alg: z.literal('EdDSA'),
});
const keySet = z.object({ keys: z.array(jwk) });

/**
 * `GET /.well-known/facematch/keys`: the deployment's public signing key as a JWK Set (RFC 7517), unauthenticated. Auditors
 * and partner deployments fetch it once, keep it, and check signed audit checkpoints (and federation messages) with it; a
 * key that changed later is a reason to ask the operator, not to trust the new one.
 */
export function wellKnownRouter(key: Pick<DeploymentKey, 'publicJwk'>, openapi: OpenApi): Router {
  const r = Router();
  const body = { keys: [{ ...key.publicJwk, use: 'sig' as const, alg: 'EdDSA' as const }] };
  r.get('/.well-known/facematch/keys', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(body);
  });
  openapi.add({
    method: 'get',
    path: '/.well-known/facematch/keys',
    summary:
      "The deployment's Ed25519 public key (JWK Set): it signs the audit checkpoints written outside the database (format in docs/OVERSIGHT.md) and, with federation, messages to partner deployments",
    responses: { 200: { description: 'JWK Set', schema: keySet } },
  });
  return r;
}
