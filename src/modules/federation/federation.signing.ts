import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { AppError } from '../../shared/errors';
import {
  component,
  contentDigest,
  contentDigestMatches,
  readSignature,
  signatureParam,
  signMessage,
  SignatureFormatError,
  type ComponentId,
  type Headers,
  type RequestParts,
  type ResponseParts,
} from '../../platform/http/message-signatures';
import { verifyEd25519 } from '../../platform/crypto/deployment-key';

/**
 * The federation profile of HTTP Message Signatures (RFC 9421) — what every request between deployments and every answer
 * must carry (docs/federation.md, "The channel"):
 *
 * - Requests: one signature labelled `facematch`, Ed25519 (`alg="ed25519"`), covering exactly
 *   `("@method" "@target-uri" "content-digest" "date")`, with `created`, `keyid` (the sender's deployment key id), a `nonce`
 *   (random, 16 bytes) and `tag="facematch-federation"`. @target-uri is the receiver's registered base URL plus the path, so a
 *   request signed for one deployment is refused by another; Content-Digest (RFC 9530, sha-256) binds the body.
 * - Answers (every status, refusals included): `("@status" "content-digest" "date" "@method";req "@target-uri";req
 *   "signature";key="facematch";req)` with `created`, `keyid`, `alg` and `tag="facematch-federation-answer"`: the answer is bound
 *   to the exact request it answers (its signature), so it cannot be replayed as the answer to another.
 * - The receiver checks, in this order: fields present (else FEDERATION_SIGNATURE_MISSING), profile (FEDERATION_SIGNATURE_INVALID),
 *   key known (FEDERATION_UNKNOWN_KEY), `created` within the skew bound (FEDERATION_SIGNATURE_EXPIRED), the key valid at
 *   `created` and now (FEDERATION_KEY_RETIRED), the body against Content-Digest (FEDERATION_DIGEST_MISMATCH), the signature
 *   (FEDERATION_SIGNATURE_INVALID), and last the nonce (FEDERATION_REPLAYED), so a request failing any earlier check never
 *   uses up a nonce.
 */
export const LABEL = 'facematch';
export const REQUEST_TAG = 'facematch-federation';
export const ANSWER_TAG = 'facematch-federation-answer';

export const REQUEST_COMPONENTS: ComponentId[] = ['@method', '@target-uri', 'content-digest', 'date'].map((n) => component(n));
export const ANSWER_COMPONENTS: ComponentId[] = [
  component('@status'),
  component('content-digest'),
  component('date'),
  component('@method', [['req', true]]),
  component('@target-uri', [['req', true]]),
  component('signature', [['key', LABEL], ['req', true]]),
];

export type RefusalCode =
  | 'FEDERATION_SIGNATURE_MISSING'
  | 'FEDERATION_SIGNATURE_INVALID'
  | 'FEDERATION_UNKNOWN_KEY'
  | 'FEDERATION_KEY_RETIRED'
  | 'FEDERATION_SIGNATURE_EXPIRED'
  | 'FEDERATION_DIGEST_MISMATCH'
  | 'FEDERATION_REPLAYED';

/** A signed message this side refuses: 401 with one of the codes above. */
export class SignatureRefusedError extends AppError {
  constructor(
    readonly refusal: RefusalCode,
    message: string,
    readonly keyId?: string,
  ) {
    super(refusal, 401, message);
  }
}

export interface Signer {
  keyId: string;
  sign(data: Buffer): Buffer;
}

const httpDate = (d: Date) => d.toUTCString();
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** Headers for a signed request: Date, Content-Digest, Signature-Input, Signature (and Content-Type for a body). */
export function signRequest(key: Signer, r: { method: 'GET' | 'POST'; targetUri: string; body: Buffer; now: Date }): Record<string, string> {
  const headers: Record<string, string> = { date: httpDate(r.now), 'content-digest': contentDigest(r.body) };
  if (r.method === 'POST') headers['content-type'] = 'application/json';
  const s = signMessage(
    {
      label: LABEL,
      components: REQUEST_COMPONENTS,
      params: [
        ['created', seconds(r.now)],
        ['keyid', key.keyId],
        ['nonce', randomBytes(16).toString('base64url')],
        ['alg', 'ed25519'],
        ['tag', REQUEST_TAG],
      ],
      sign: (b) => key.sign(b),
    },
    { method: r.method, targetUri: r.targetUri, headers },
  );
  return { ...headers, 'signature-input': s.signatureInput, signature: s.signature };
}

/** Headers for a signed answer to `request` (whose signature fields it binds). */
export function signAnswer(key: Signer, a: { status: number; body: Buffer; now: Date }, request: RequestParts): Record<string, string> {
  const headers: Record<string, string> = { date: httpDate(a.now), 'content-digest': contentDigest(a.body) };
  const s = signMessage(
    {
      label: LABEL,
      components: ANSWER_COMPONENTS,
      params: [
        ['created', seconds(a.now)],
        ['keyid', key.keyId],
        ['alg', 'ed25519'],
        ['tag', ANSWER_TAG],
      ],
      sign: (b) => key.sign(b),
    },
    { status: a.status, headers },
    request,
  );
  return { ...headers, 'signature-input': s.signatureInput, signature: s.signature };
}

const sameComponents = (a: ComponentId[], b: ComponentId[]) =>
  a.length === b.length && a.every((c, i) => c.name === b[i]!.name && JSON.stringify(c.params) === JSON.stringify(b[i]!.params));

/** What a verifier needs to know about a key id: its public key and since and until when it signs. */
export interface KnownKey {
  publicKey: KeyObject;
  validFrom: Date;
  validUntil: Date | null;
}

export interface Verified {
  keyId: string;
  created: Date;
  nonce: string | null;
}

/**
 * Checks a received message's signature against the profile (`answer` false: a request; true: an answer to `request`). Does
 * not check the nonce: the caller claims it last, once everything else passed. Throws SignatureRefusedError.
 */
export async function verifySigned(
  msg: RequestParts | ResponseParts,
  body: Buffer,
  o: { answer: boolean; request?: RequestParts; now: Date; maxSkewSeconds: number; keyFor: (keyId: string) => Promise<KnownKey | null> },
): Promise<Verified> {
  const h = msg.headers;
  if (!h['signature-input'] || !h.signature) throw new SignatureRefusedError('FEDERATION_SIGNATURE_MISSING', 'The message is not signed (Signature-Input and Signature are required).');
  let parsed;
  try {
    parsed = readSignature(LABEL, msg, o.request);
  } catch (e) {
    if (e instanceof SignatureFormatError && /no signature labelled/.test(e.message)) {
      throw new SignatureRefusedError('FEDERATION_SIGNATURE_MISSING', `The message carries no signature labelled ${LABEL}.`);
    }
    throw new SignatureRefusedError('FEDERATION_SIGNATURE_INVALID', `The signature fields are not valid: ${e instanceof Error ? e.message : 'unreadable'}.`);
  }
  const keyId = signatureParam(parsed, 'keyid');
  const created = signatureParam(parsed, 'created');
  const nonce = signatureParam(parsed, 'nonce');
  const expected = o.answer ? ANSWER_COMPONENTS : REQUEST_COMPONENTS;
  const profileProblem = !sameComponents(parsed.components, expected)
    ? `it must cover exactly ${expected.map((c) => c.name).join(', ')}`
    : signatureParam(parsed, 'alg') !== 'ed25519'
      ? 'alg must be ed25519'
      : signatureParam(parsed, 'tag') !== (o.answer ? ANSWER_TAG : REQUEST_TAG)
        ? `tag must be ${o.answer ? ANSWER_TAG : REQUEST_TAG}`
        : typeof keyId !== 'string' || typeof created !== 'number' || !Number.isInteger(created)
          ? 'keyid (a string) and created (an integer) are required'
          : !o.answer && (typeof nonce !== 'string' || nonce.length < 16 || nonce.length > 128)
            ? 'a nonce of 16 to 128 characters is required'
            : null;
  if (profileProblem) throw new SignatureRefusedError('FEDERATION_SIGNATURE_INVALID', `The signature does not follow the federation profile: ${profileProblem}.`, typeof keyId === 'string' ? keyId : undefined);
  const kid = keyId as string;
  const createdAt = new Date((created as number) * 1000);
  const key = await o.keyFor(kid);
  if (!key) throw new SignatureRefusedError('FEDERATION_UNKNOWN_KEY', 'The signing key is not a registered key of a partner deployment.', kid);
  if (Math.abs(o.now.getTime() - createdAt.getTime()) > o.maxSkewSeconds * 1000) {
    throw new SignatureRefusedError('FEDERATION_SIGNATURE_EXPIRED', `The signature's creation time is more than ${o.maxSkewSeconds} s from this deployment's clock.`, kid);
  }
  // A key becomes valid when registered; a signature made then by a clock up to the skew bound behind still counts.
  const notYet = createdAt.getTime() + o.maxSkewSeconds * 1000 < key.validFrom.getTime();
  if (notYet || (key.validUntil && (createdAt >= key.validUntil || o.now >= key.validUntil))) {
    throw new SignatureRefusedError('FEDERATION_KEY_RETIRED', 'The signing key is not valid now (it was replaced by a newer key and its overlap has ended, or it is not valid yet).', kid);
  }
  if (!contentDigestMatches(headerText(h['content-digest']), body)) {
    throw new SignatureRefusedError('FEDERATION_DIGEST_MISMATCH', 'The body does not match its Content-Digest: it was altered, or the digest is missing.', kid);
  }
  if (!verifyEd25519(key.publicKey, parsed.base, parsed.signature)) {
    throw new SignatureRefusedError('FEDERATION_SIGNATURE_INVALID', 'The signature does not verify: the message was altered or signed with another key.', kid);
  }
  return { keyId: kid, created: createdAt, nonce: typeof nonce === 'string' ? nonce : null };
}

const headerText = (v: Headers[string]) => (Array.isArray(v) ? v.join(', ') : v);
