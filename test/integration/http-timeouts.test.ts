import net from 'node:net';
import express from 'express';
import type http from 'node:http';
import { createHttpServer } from '../../src/platform/http/server';

/**
 * Slow clients are cut off at bounded times and get API.md's JSON error body (Node's own 408 has none). Ports from this
 * project's test range. The deadlines are short here; the assertions do not depend on how long anything takes.
 */
const PORT = 18_101;

function rawExchange(send: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(PORT, '127.0.0.1', () => s.write(send));
    let got = '';
    s.on('data', (c) => (got += c));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

describe('HTTP server deadlines', () => {
  let server: http.Server;
  beforeAll(async () => {
    const app = express();
    app.post('/upload', (req, res) => {
      req.resume();
      req.on('end', () => res.json({ ok: true }));
    });
    server = createHttpServer(app, { headersMs: 300, requestMs: 600, checkIntervalMs: 50 });
    await new Promise<void>((r) => server.listen(PORT, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const body = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

  it('answers 408 with the JSON error body to a client that never finishes its headers', async () => {
    const raw = await rawExchange('POST /upload HTTP/1.1\r\nHost: x\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 408 /);
    expect(raw).toMatch(/content-type: application\/json/i);
    expect(body(raw)).toEqual({ error: { code: 'REQUEST_TIMEOUT', message: expect.any(String) }, requestId: null });
    expect(raw.endsWith('}\n')).toBe(true); // like every JSON answer
  });

  it('answers 408 with the JSON error body to a client that never finishes its body', async () => {
    const raw = await rawExchange('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a little');
    expect(raw).toMatch(/^HTTP\/1\.1 408 /);
    expect(body(raw).error.code).toBe('REQUEST_TIMEOUT');
  });

  it('answers 400 with the JSON error body to a request that is not HTTP', async () => {
    const raw = await rawExchange('HELLO\0\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(body(raw).error.code).toBe('VALIDATION_FAILED');
  });
});
