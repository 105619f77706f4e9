import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { DestinationRefusedError, OutboundError, outboundRequest, type DestinationPolicy, type Resolver } from '../../src/platform/http/outbound';

/**
 * outboundRequest against receivers on 127.0.0.1 only: the pinned connection (a name resolved once, to the checked address),
 * no redirects, the bounded body against a receiver that streams without end, the timeouts, and https with a test CA
 * (test/helpers/tls: CA and a certificate for hooks.test, localhost, 127.0.0.1, ::1).
 */
const TLS = path.resolve(__dirname, '../helpers/tls');
const ca = fs.readFileSync(path.join(TLS, 'ca.pem'));

interface Seen {
  host: string | undefined;
  method: string | undefined;
  url: string | undefined;
  body: string;
}

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void, tls = false) {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ host: req.headers.host, method: req.method, url: req.url, body });
      handler(req, res);
    });
  };
  const server = tls
    ? https.createServer({ key: fs.readFileSync(path.join(TLS, 'receiver.key')), cert: fs.readFileSync(path.join(TLS, 'receiver.pem')) }, onRequest)
    : http.createServer(onRequest);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    seen,
    sockets,
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const resolverOf = (answers: () => string[]): Resolver & jest.Mock =>
  jest.fn(async () => answers().map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

const loopbackOnly = (resolve?: Resolver): DestinationPolicy => ({ allowHttp: true, allowedHosts: [], allowLoopbackForTests: true, resolve });
const limits = { connectTimeoutMs: 5000, totalTimeoutMs: 10_000, maxResponseBytes: 1024 };

describe('outboundRequest on loopback', () => {
  it('connects to the address the name resolved to once, with the name as Host, even when a second answer would differ', async () => {
    const rx = await serve((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok'));
    try {
      // A rebinding resolver: the first answer passes the check, every later one points elsewhere (a refused address).
      let calls = 0;
      const resolve = resolverOf(() => (calls++ === 0 ? ['127.0.0.1'] : ['10.0.0.1']));
      const r = await outboundRequest(`http://hooks.test:${rx.port}/notices?x=1`, { ...limits, method: 'POST', body: '{"a":1}', headers: { 'Content-Type': 'application/json' }, policy: loopbackOnly(resolve) });
      expect(r).toMatchObject({ status: 200, truncated: false, address: '127.0.0.1' });
      expect(r.body.toString()).toBe('ok');
      expect(resolve).toHaveBeenCalledTimes(1);
      expect(rx.seen).toEqual([{ host: `hooks.test:${rx.port}`, method: 'POST', url: '/notices?x=1', body: '{"a":1}' }]);
      // The next request asks again and is refused before connecting.
      await expect(outboundRequest(`http://hooks.test:${rx.port}/notices`, { ...limits, method: 'POST', policy: loopbackOnly(resolve) })).rejects.toBeInstanceOf(DestinationRefusedError);
      expect(rx.seen).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('refuses a loopback receiver without the test override, before any connection', async () => {
    const rx = await serve((_req, res) => res.end());
    try {
      for (const host of ['127.0.0.1', '0x7f000001', '2130706433', '127.1', 'localhost']) {
        const e = await outboundRequest(`http://${host}:${rx.port}/`, { ...limits, method: 'GET', policy: { allowHttp: true, allowedHosts: [] } }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(DestinationRefusedError);
      }
      expect(rx.seen).toEqual([]);
    } finally {
      await rx.close();
    }
  });

  it('reaches an internal receiver the operator allow-listed, without the test override', async () => {
    const rx = await serve((_req, res) => res.writeHead(204).end());
    try {
      const policy = { allowHttp: true, allowedHosts: ['receiver.internal'], resolve: resolverOf(() => ['127.0.0.1']) };
      await expect(outboundRequest(`http://receiver.internal:${rx.port}/h`, { ...limits, method: 'POST', policy })).resolves.toMatchObject({ status: 204 });
      await expect(outboundRequest(`http://other.internal:${rx.port}/h`, { ...limits, method: 'POST', policy })).rejects.toBeInstanceOf(DestinationRefusedError);
      expect(rx.seen).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('does not follow a redirect, not even to an allowed address: the 3xx comes back as it is', async () => {
    const target = await serve((_req, res) => res.end('target'));
    const rx = await serve((_req, res) => res.writeHead(307, { Location: `http://127.0.0.1:${target.port}/` }).end());
    try {
      const r = await outboundRequest(`http://127.0.0.1:${rx.port}/`, { ...limits, method: 'POST', policy: loopbackOnly() });
      expect(r.status).toBe(307);
      expect(target.seen).toEqual([]);
    } finally {
      await rx.close();
      await target.close();
    }
  });

  it('reads at most maxResponseBytes of a body that never ends, then drops the connection', async () => {
    let stop = false;
    let written = 0;
    const rx = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const pump = () => {
        while (!stop) {
          written += chunk.length;
          if (!res.write(chunk)) break;
        }
        if (!stop) res.once('drain', pump);
      };
      res.on('close', () => (stop = true));
      pump();
    });
    try {
      const r = await outboundRequest(`http://127.0.0.1:${rx.port}/`, { ...limits, maxResponseBytes: 4096, method: 'POST', policy: loopbackOnly() });
      expect(r).toMatchObject({ status: 200, truncated: true });
      expect(r.body.length).toBe(4096);
      // The receiver sees its connection closed: poll (bounded) for it rather than timing anything.
      for (let i = 0; i < 200 && !stop; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(stop).toBe(true);
      expect(rx.sockets.size).toBe(0);
      expect(written).toBeGreaterThan(4096);
    } finally {
      stop = true;
      await rx.close();
    }
  });

  it('gives up after the total timeout on a receiver that never answers, and names the failure kind only', async () => {
    const rx = await serve(() => undefined);
    try {
      const e = await outboundRequest(`http://127.0.0.1:${rx.port}/`, { ...limits, totalTimeoutMs: 300, method: 'POST', policy: loopbackOnly() }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OutboundError);
      expect((e as OutboundError).kind).toBe('timeout');
    } finally {
      await rx.close();
    }
  });

  it('reports a closed port as a connect failure', async () => {
    const rx = await serve(() => undefined);
    const port = rx.port;
    await rx.close();
    const e = await outboundRequest(`http://127.0.0.1:${port}/`, { ...limits, method: 'POST', policy: loopbackOnly() }).catch((x: unknown) => x);
    expect((e as OutboundError).kind).toBe('connect');
  });

  it('speaks https to the pinned address with the name for SNI and the certificate check', async () => {
    const rx = await serve((_req, res) => res.writeHead(200).end('secure'), true);
    try {
      const policy: DestinationPolicy = { allowHttp: false, allowedHosts: [], allowLoopbackForTests: true, resolve: resolverOf(() => ['127.0.0.1']) };
      const r = await outboundRequest(`https://hooks.test:${rx.port}/h`, { ...limits, method: 'POST', policy, tls: { ca } });
      expect(r.body.toString()).toBe('secure');
      expect(rx.seen[0]!.host).toBe(`hooks.test:${rx.port}`);
      // A name the certificate does not carry fails the check although the address is the same; so does an unknown CA.
      const wrongName = await outboundRequest(`https://other.test:${rx.port}/h`, { ...limits, method: 'POST', policy, tls: { ca } }).catch((x: unknown) => x);
      expect((wrongName as OutboundError).kind).toBe('tls');
      const unknownCa = await outboundRequest(`https://hooks.test:${rx.port}/h`, { ...limits, method: 'POST', policy }).catch((x: unknown) => x);
      expect((unknownCa as OutboundError).kind).toBe('tls');
      expect(rx.seen).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('connects over IPv6 loopback to a bracketed literal', async () => {
    const server = http.createServer((req, res) => res.end(req.headers.host));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '::1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const r = await outboundRequest(`http://[::1]:${port}/`, { ...limits, method: 'GET', policy: loopbackOnly() });
      expect(r.body.toString()).toBe(`[::1]:${port}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
