import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { LookupFunction } from 'node:net';
import { AppError } from '../../shared/errors';

/**
 * The destination policy of every request this service makes to a URL someone else chose (webhooks, partner deployments),
 * and the one way such requests are made. An organization's admin names the URL, so without this policy the service would
 * fetch from its own loopback interface, the database port, cloud metadata addresses or the private network on their behalf.
 *
 * - The host is resolved once; every address of the answer must be public (see `refusedRange`), else the URL is refused.
 * - The connection goes to the address that was checked (a pinned `lookup`: no second resolution, so no DNS rebinding); TLS
 *   SNI, certificate name and the Host header stay the URL's name.
 * - https only, unless the operator allows http; no credentials in the URL; redirects are never followed (a 3xx is returned
 *   as it is, and callers treat it as a failure).
 * - `allowedHosts` (OUTBOUND_ALLOWED_HOSTS) lets an operator name internal receivers: a host name (`hooks.corp.example`, or
 *   `*.corp.example` for its subdomains), or an address or CIDR range (`10.20.0.0/16`). Multicast, unspecified and reserved
 *   addresses stay refused even then: nothing can listen there.
 * - `allowLoopbackForTests` is for tests only (OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS, refused by the configuration outside
 *   NODE_ENV=test): loopback becomes reachable and *every other address is refused*, so a test can never reach the outside.
 * - Bounded: the response body is read up to `maxResponseBytes`, then the socket is destroyed; a connect and a total timeout.
 */
export interface DestinationPolicy {
  allowHttp: boolean;
  allowedHosts: readonly string[];
  /** Tests only, named explicitly: loopback allowed, everything else refused. */
  allowLoopbackForTests?: boolean;
  /** Name resolution (default: the system resolver, every address). Tests inject answers to simulate names and DNS changes. */
  resolve?: Resolver;
}

export type Resolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

export type RefusalReason =
  | 'invalid_url'
  | 'scheme'
  | 'credentials'
  | 'address'
  | 'unresolvable';

/** The URL may not be contacted. 400 `DESTINATION_REFUSED` at registration; a `destination_refused` failure at delivery. */
export class DestinationRefusedError extends AppError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    /** The refused range when the URL named an address literally (never for a name: that would tell what a name resolves to). */
    readonly range?: string,
  ) {
    super('DESTINATION_REFUSED', 400, message, { reason, ...(range ? { range } : {}) });
  }
}

/** A request that passed the policy and then failed: what kind of failure, never the foreign service's words. */
export class OutboundError extends Error {
  constructor(
    readonly kind: 'connect' | 'timeout' | 'tls' | 'protocol',
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface CheckedDestination {
  url: URL;
  /** The address the connection will go to. */
  address: string;
  family: 4 | 6;
}

/** 16 bytes of an IPv6 address (dotted IPv4 tail allowed), or null. */
function ipv6Bytes(s: string): Buffer | null {
  if (!net.isIPv6(s) || s.includes('%')) return null; // a zone id (fe80::1%eth0) is no destination
  let text = s;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail.push(...dotted[1]!.split('.').map(Number));
    text = `${text.slice(0, -dotted[1]!.length)}0:0`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const part = (x: string) => (x === '' ? [] : x.split(':').map((h) => parseInt(h, 16)));
  const hi = part(head);
  const lo = rest === undefined ? [] : part(rest);
  const groups = rest === undefined ? hi : [...hi, ...Array(8 - hi.length - lo.length).fill(0), ...lo];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  if (tail.length) Buffer.from(tail).copy(b, 12);
  return b;
}

const ipv4Bytes = (s: string): Buffer | null => (net.isIPv4(s) ? Buffer.from(s.split('.').map(Number)) : null);

interface Range {
  bytes: Buffer;
  bits: number;
  name: string;
}

function cidr(text: string, name: string): Range {
  const [addr, bits] = text.split('/') as [string, string];
  const bytes = ipv4Bytes(addr) ?? ipv6Bytes(addr);
  if (!bytes) throw new Error(`bad range ${text}`);
  return { bytes, bits: Number(bits), name };
}

function inRange(b: Buffer, r: Range): boolean {
  if (b.length !== r.bytes.length) return false;
  const full = r.bits >> 3;
  if (!b.subarray(0, full).equals(r.bytes.subarray(0, full))) return false;
  const rem = r.bits & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (b[full]! & mask) === (r.bytes[full]! & mask);
}

/** IANA special-purpose IPv4 ranges a receiver on the public internet cannot live in. */
const V4: Range[] = [
  cidr('0.0.0.0/8', 'unspecified'),
  cidr('10.0.0.0/8', 'private'),
  cidr('100.64.0.0/10', 'shared (CGNAT)'),
  cidr('127.0.0.0/8', 'loopback'),
  cidr('169.254.0.0/16', 'link-local'),
  cidr('172.16.0.0/12', 'private'),
  cidr('192.0.0.0/24', 'IETF protocol assignments'),
  cidr('192.0.2.0/24', 'documentation'),
  cidr('192.88.99.0/24', '6to4 relay'),
  cidr('192.168.0.0/16', 'private'),
  cidr('198.18.0.0/15', 'benchmarking'),
  cidr('198.51.100.0/24', 'documentation'),
  cidr('203.0.113.0/24', 'documentation'),
  cidr('224.0.0.0/4', 'multicast'),
  cidr('240.0.0.0/4', 'reserved'),
];
/** Ranges that hold an IPv4 address in their last 32 bits: judged by that address. */
const V6_EMBEDDING_V4: Range[] = [cidr('::ffff:0:0/96', 'IPv4-mapped'), cidr('64:ff9b::/96', 'NAT64')];
const V6: Range[] = [
  cidr('::/128', 'unspecified'),
  cidr('::1/128', 'loopback'),
  cidr('::/96', 'IPv4-compatible (deprecated)'),
  cidr('64:ff9b:1::/48', 'NAT64 (local use)'),
  cidr('100::/64', 'discard'),
  cidr('2001::/23', 'IETF protocol assignments'),
  cidr('2001:db8::/32', 'documentation'),
  cidr('2002::/16', '6to4'),
  cidr('3fff::/20', 'documentation'),
  cidr('fc00::/7', 'unique-local'),
  cidr('fe80::/10', 'link-local'),
  cidr('fec0::/10', 'site-local (deprecated)'),
  cidr('ff00::/8', 'multicast'),
];
const GLOBAL_UNICAST_V6 = cidr('2000::/3', 'global unicast');
/** Never reachable, whatever an allow-list says. */
const NEVER = new Set(['unspecified', 'multicast', 'reserved', 'discard', 'IPv4-compatible (deprecated)']);

/**
 * The special-purpose range `address` lies in (`loopback`, `private`, `link-local` …), or null for a public unicast address.
 * IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address they carry; IPv6 outside 2000::/3 is `reserved`.
 * Anything that is not an IP address literal is `invalid`.
 */
export function refusedRange(address: string): string | null {
  const v4 = ipv4Bytes(address);
  if (v4) return V4.find((r) => inRange(v4, r))?.name ?? null;
  const v6 = ipv6Bytes(address);
  if (!v6) return 'invalid';
  if (V6_EMBEDDING_V4.some((r) => inRange(v6, r))) return refusedRange([...v6.subarray(12)].join('.'));
  const named = V6.find((r) => inRange(v6, r));
  if (named) return named.name;
  return inRange(v6, GLOBAL_UNICAST_V6) ? null : 'reserved';
}

const isLoopback = (address: string) => refusedRange(address) === 'loopback';

/** `host` (lower case, no brackets, no trailing dot) matches an allow-list entry. */
function allowListed(host: string, address: string, allowed: readonly string[]): boolean {
  const a = ipv4Bytes(address) ?? ipv6Bytes(address);
  for (const raw of allowed) {
    const entry = raw.trim().toLowerCase().replace(/^\[|\]$/g, '');
    if (!entry) continue;
    if (entry.startsWith('*.') ? host.endsWith(entry.slice(1)) : host === entry.replace(/\.$/, '')) return true;
    const [ip, bits] = entry.split('/');
    const eb = ipv4Bytes(ip!) ?? ipv6Bytes(ip!);
    if (eb && a && eb.length === a.length && inRange(a, { bytes: eb, bits: bits === undefined ? eb.length * 8 : Number(bits), name: '' })) return true;
  }
  return false;
}

const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Checks `rawUrl` against `policy` and resolves its host once. Returns the address to connect to, or throws
 * DestinationRefusedError. Every address of the answer must pass (a name that resolves to one public and one private address
 * is refused): the connection then cannot be steered to the private one.
 */
export async function checkDestination(rawUrl: string, policy: DestinationPolicy): Promise<CheckedDestination> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new DestinationRefusedError('invalid_url', 'The URL is not a valid absolute URL.');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw new DestinationRefusedError(
      'scheme',
      policy.allowHttp ? 'Only http and https URLs can be contacted.' : 'Only https URLs can be contacted (the operator has not allowed http).',
    );
  }
  if (url.username || url.password) throw new DestinationRefusedError('credentials', 'The URL may not carry a user name or password.');
  // The WHATWG parser has already turned 0x7f000001, 2130706433, 017700000001 and 127.1 into 127.0.0.1.
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const literal = net.isIP(host) !== 0;
  const refuse = (range: string) => {
    throw literal
      ? new DestinationRefusedError('address', `The URL's address lies in a ${range} range, which this service does not contact.`, range)
      : new DestinationRefusedError('unresolvable', "The URL's host does not resolve to a public address this service may contact.");
  };

  let answers: Array<{ address: string; family: number }>;
  if (literal) answers = [{ address: host, family: net.isIP(host) }];
  else if (host === 'localhost' || host.endsWith('.localhost')) answers = [{ address: '127.0.0.1', family: 4 }]; // RFC 6761
  else {
    try {
      answers = await (policy.resolve ?? systemResolver)(host);
    } catch {
      answers = [];
    }
    if (answers.length === 0) refuse('unresolvable');
  }

  for (const { address } of answers) {
    const range = refusedRange(address);
    if (range === 'invalid') refuse('invalid');
    if (policy.allowLoopbackForTests) {
      if (range !== 'loopback') refuse(range ?? 'public (tests reach loopback only)');
      continue;
    }
    if (range === null) continue;
    if (NEVER.has(range) || !allowListed(host, address, policy.allowedHosts)) refuse(range);
  }
  const first = answers[0]!;
  return { url, address: first.address, family: net.isIP(first.address) as 4 | 6 };
}

export interface OutboundOptions {
  method: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: Buffer | string;
  policy: DestinationPolicy;
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  maxResponseBytes: number;
  /** Extra trust (a private CA) or a client certificate; the server certificate is always verified. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
}

export interface OutboundResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** At most maxResponseBytes. */
  body: Buffer;
  /** The body was longer: the rest was not read and the connection was dropped. */
  truncated: boolean;
  /** The address that was contacted (the checked one). */
  address: string;
}

/**
 * One request to `rawUrl` under the destination policy. Resolves with the status, headers and at most `maxResponseBytes` of
 * the body (whatever the status, 3xx included: nothing is followed); rejects with DestinationRefusedError before any
 * connection, or with OutboundError(kind) when connecting, TLS, the exchange or a timeout failed.
 */
export async function outboundRequest(rawUrl: string, o: OutboundOptions): Promise<OutboundResponse> {
  const dest = await checkDestination(rawUrl, o.policy);
  const isHttps = dest.url.protocol === 'https:';
  // Whatever node asks (one address, or all of them for happy eyeballs), it gets the checked address and nothing else.
  const pinned: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: dest.address, family: dest.family }]);
    else cb(null, dest.address, dest.family);
  };
  const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
  const options: https.RequestOptions = {
    method: o.method,
    protocol: dest.url.protocol,
    hostname: dest.url.hostname.replace(/^\[|\]$/g, ''),
    port: dest.url.port || (isHttps ? 443 : 80),
    path: `${dest.url.pathname}${dest.url.search}`,
    headers: { ...o.headers, ...(body ? { 'Content-Length': String(body.length) } : {}) },
    lookup: pinned,
    // A fresh connection every time: a pooled socket could have been opened to an address checked for another request.
    agent: false,
    maxHeaderSize: 16 * 1024,
    ...(isHttps ? { ca: o.tls?.ca, cert: o.tls?.cert, key: o.tls?.key, rejectUnauthorized: true } : {}),
  };

  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    const req = (isHttps ? https : http).request(options);
    const finish = (err: OutboundError | null, res?: OutboundResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(connect);
      req.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const total = setTimeout(() => finish(new OutboundError('timeout', `no complete answer within ${o.totalTimeoutMs} ms`)), o.totalTimeoutMs);
    const connect = setTimeout(() => finish(new OutboundError('timeout', `no connection within ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
    req.on('socket', (socket) => {
      socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(connect));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      const kind = /CERT|SSL|TLS|SELF_SIGNED|ERR_TLS|HOSTNAME|ALTNAME/i.test(code) || /certificate|ssl|tls/i.test(e.message) ? 'tls' : /^(ECONN|EHOST|ENET|EADDR|ETIMEDOUT|EPIPE)/.test(code) ? 'connect' : 'protocol';
      finish(new OutboundError(kind, code || e.message));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (truncated: boolean) =>
        finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, o.maxResponseBytes), truncated, address: dest.address });
      res.on('data', (c: Buffer) => {
        if (settled) return;
        chunks.push(c);
        size += c.length;
        // Enough: the rest is not read, the socket is destroyed (finish), so an endless body holds nothing.
        if (size > o.maxResponseBytes) done(true);
      });
      res.on('end', () => done(false));
      res.on('aborted', () => finish(new OutboundError('protocol', 'the answer was cut off')));
      res.on('error', (e: NodeJS.ErrnoException) => finish(new OutboundError('protocol', e.code ?? e.message)));
    });
    req.end(body);
  });
}
