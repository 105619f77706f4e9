import { createHash } from 'node:crypto';
import {
  isInnerList,
  parseDictionary,
  serializeBareItem,
  serializeInnerList,
  serializeItem,
  serializeMember,
  StructuredFieldError,
  Token,
  type Item,
  type Params,
} from './structured-fields';

/**
 * HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530): the signature base of a request or a response, and the
 * Signature-Input / Signature fields that carry a signature. Which components a signature must cover, and which parameters it
 * must have, is the application's profile (the federation module's); this file only builds and reads what RFC 9421 defines.
 *
 * Signature base (RFC 9421 §2.5): one line per covered component, in the order listed, `<component identifier>: <value>`,
 * then `"@signature-params": <the inner list of identifiers with the signature parameters>`, lines joined by LF with no
 * trailing LF. Identifiers are sf-strings with their parameters (`"@method"`, `"signature";key="sig1";req`); a field's value is
 * its field lines' values, each trimmed, joined by ", "; a `key` parameter selects one Dictionary member, re-serialised; `req`
 * takes the component from the request a response answers (§2.4).
 */
export interface ComponentId {
  /** Lower case: a field name, or a derived component (`@method`, `@target-uri`, `@path`, `@authority`, `@query`, `@status`). */
  name: string;
  params: Params;
}

export type Headers = Record<string, string | string[] | undefined>;

export interface RequestParts {
  method: string;
  /** The absolute target URI (`https://host/path?query`). */
  targetUri: string;
  /** Field names in lower case. */
  headers: Headers;
}

export interface ResponseParts {
  status: number;
  headers: Headers;
}

export class SignatureFormatError extends Error {}

export const component = (name: string, params: Params = []): ComponentId => ({ name, params });

const paramOf = (params: Params, k: string) => params.find(([x]) => x === k)?.[1];

function fieldValue(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map((x) => x.trim()).join(', ');
}

/** The value of one covered component of `msg` (or of `request`, for components marked `req`). */
function componentValue(c: ComponentId, msg: RequestParts | ResponseParts, request?: RequestParts): string {
  const target = paramOf(c.params, 'req') === true ? request : msg;
  if (!target) throw new SignatureFormatError(`component ${c.name} is marked req but there is no request`);
  if (c.name.startsWith('@')) {
    if (c.name === '@status') {
      if (!('status' in target)) throw new SignatureFormatError('@status is a response component');
      return String(target.status).padStart(3, '0');
    }
    if (!('method' in target)) throw new SignatureFormatError(`${c.name} is a request component`);
    const url = new URL(target.targetUri);
    switch (c.name) {
      case '@method':
        return target.method;
      case '@target-uri':
        return target.targetUri;
      case '@path':
        return url.pathname || '/';
      case '@query':
        return url.search || '?';
      case '@authority':
        return url.host.toLowerCase();
      case '@scheme':
        return url.protocol.replace(/:$/, '').toLowerCase();
      default:
        throw new SignatureFormatError(`derived component ${c.name} is not supported`);
    }
  }
  const raw = fieldValue(target.headers, c.name);
  if (raw === undefined) throw new SignatureFormatError(`the covered field ${c.name} is absent`);
  const key = paramOf(c.params, 'key');
  if (key === undefined) return raw;
  if (typeof key !== 'string') throw new SignatureFormatError('the key parameter must be a string');
  const member = parseDictionary(raw).get(key);
  if (!member) throw new SignatureFormatError(`the field ${c.name} has no member ${key}`);
  return serializeMember(member);
}

const identifier = (c: ComponentId) => serializeItem({ value: c.name, params: c.params });

/** The `@signature-params` value: the covered components as an inner list, with the signature's parameters. */
export const signatureParamsValue = (components: ComponentId[], params: Params) =>
  serializeInnerList({ items: components.map((c) => ({ value: c.name, params: c.params })), params });

/** The signature base (RFC 9421 §2.5) of `msg` over `components` with `params`. Throws when a component is absent. */
export function signatureBase(components: ComponentId[], params: Params, msg: RequestParts | ResponseParts, request?: RequestParts): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const c of components) {
    const id = identifier(c);
    if (seen.has(id)) throw new SignatureFormatError(`component ${id} is covered twice`);
    seen.add(id);
    const value = componentValue(c, msg, request);
    if (/[\r\n]/.test(value)) throw new SignatureFormatError(`component ${id} has a line break`);
    lines.push(`${id}: ${value}`);
  }
  lines.push(`"@signature-params": ${signatureParamsValue(components, params)}`);
  return lines.join('\n');
}

/** Signs `msg`: the Signature-Input and Signature field values for one signature labelled `label`. */
export function signMessage(
  o: { label: string; components: ComponentId[]; params: Params; sign: (base: Buffer) => Buffer },
  msg: RequestParts | ResponseParts,
  request?: RequestParts,
): { signatureInput: string; signature: string } {
  const base = signatureBase(o.components, o.params, msg, request);
  return {
    signatureInput: `${o.label}=${signatureParamsValue(o.components, o.params)}`,
    signature: `${o.label}=${serializeBareItem(o.sign(Buffer.from(base, 'ascii')))}`,
  };
}

export interface ParsedSignature {
  components: ComponentId[];
  params: Params;
  signature: Buffer;
  /** The signature base the signer must have signed, recomputed from the message as received. */
  base: Buffer;
}

/**
 * The signature labelled `label` of a received message: its covered components and parameters (from Signature-Input), its
 * bytes (from Signature) and the signature base recomputed from the message. Throws SignatureFormatError when either field
 * is missing the label, is not a valid structured field, or a covered component is absent.
 */
export function readSignature(label: string, msg: RequestParts | ResponseParts, request?: RequestParts): ParsedSignature {
  const inputField = fieldValue(msg.headers, 'signature-input');
  const sigField = fieldValue(msg.headers, 'signature');
  if (inputField === undefined || sigField === undefined) throw new SignatureFormatError('Signature-Input and Signature are required');
  let input;
  let sig;
  try {
    input = parseDictionary(inputField).get(label);
    sig = parseDictionary(sigField).get(label);
  } catch (e) {
    throw new SignatureFormatError(e instanceof StructuredFieldError ? e.message : 'malformed signature fields');
  }
  if (!input || !sig) throw new SignatureFormatError(`no signature labelled ${label}`);
  if (!isInnerList(input)) throw new SignatureFormatError('Signature-Input member is not an inner list');
  if (isInnerList(sig) || !Buffer.isBuffer(sig.value)) throw new SignatureFormatError('Signature member is not a byte sequence');
  const components = input.items.map((i: Item) => {
    if (typeof i.value !== 'string' || i.value !== i.value.toLowerCase()) throw new SignatureFormatError('component identifiers are lower-case strings');
    return { name: i.value, params: i.params };
  });
  const base = signatureBase(components, input.params, msg, request);
  return { components, params: input.params, signature: sig.value, base: Buffer.from(base, 'ascii') };
}

/** A signature parameter of a parsed signature (created, expires, keyid, nonce, alg, tag). */
export function signatureParam(s: Pick<ParsedSignature, 'params'>, name: string): string | number | boolean | undefined {
  const v = paramOf(s.params, name);
  if (v === undefined) return undefined;
  if (v instanceof Token) return v.text;
  if (Buffer.isBuffer(v)) return undefined;
  return v;
}

/** RFC 9530 Content-Digest of a body: `sha-256=:<base64 of SHA-256>:`. */
export const contentDigest = (body: Buffer) => `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;

/**
 * Whether a Content-Digest field matches `body`: every member with an algorithm this side knows (sha-256, sha-512) must
 * match, and at least one must be present (RFC 9530 §2: unknown algorithms are ignored).
 */
export function contentDigestMatches(field: string | undefined, body: Buffer): boolean {
  if (!field) return false;
  let dict;
  try {
    dict = parseDictionary(field);
  } catch {
    return false;
  }
  let checked = 0;
  for (const alg of ['sha-256', 'sha-512'] as const) {
    const m = dict.get(alg);
    if (!m) continue;
    if (isInnerList(m) || !Buffer.isBuffer(m.value)) return false;
    if (!createHash(alg.replace('-', '')).update(body).digest().equals(m.value)) return false;
    checked++;
  }
  return checked > 0;
}
