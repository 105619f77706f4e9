import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { RequestListener } from 'node:http';

export interface ServerTimeouts {
  /** A client must finish sending its request headers within this time (slowloris). */
  headersMs: number;
  /** A client must finish sending its whole request (headers and body) within this time. */
  requestMs: number;
  /** How often Node checks those deadlines: a slow client is cut off at most this much after its deadline. */
  checkIntervalMs?: number;
  /** Serve HTTPS with this certificate chain and key (PEM); plain HTTP without. */
  tls?: { cert: Buffer; key: Buffer };
}

const STATUS: Record<string, [number, string, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'The request was not received in time.'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'VALIDATION_FAILED', 'The request headers are too large.'],
};

/**
 * The HTTP server around the app, with bounded header and request times. Errors Node raises before the app sees a request
 * (timeouts, unparseable requests) answer API.md's JSON error body instead of Node's bare status line, then close.
 */
export function createHttpServer(app: RequestListener, t: ServerTimeouts): http.Server {
  const options = { connectionsCheckingInterval: t.checkIntervalMs ?? 1000 };
  const server: http.Server = t.tls ? https.createServer({ ...options, cert: t.tls.cert, key: t.tls.key, minVersion: 'TLSv1.2' }, app) : http.createServer(options, app);
  server.headersTimeout = t.headersMs;
  server.requestTimeout = t.requestMs;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const [status, reason, code, message] = STATUS[err.code ?? ''] ?? [400, 'Bad Request', 'VALIDATION_FAILED', 'The request is not valid HTTP.'];
    if (err.code === 'ECONNRESET' || !socket.writable || (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const body = `${JSON.stringify({ error: { code, message }, requestId: null })}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}
