import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { migrate } from '../../src/platform/db/migrate';
import { createFaceEngine } from '../../src/platform/face/face-engine';
import { backends } from '../helpers/databases';
import { startService } from '../helpers/app';
import { fixedFaceEngine } from '../helpers/fake-engine';

describe.each(backends())('operational endpoints on $name', (backend) => {
  it('/readyz is 503 until migrations are applied and the real models are loaded and warm, then 200; /healthz is 200 throughout', async () => {
    const t = await backend.open({ empty: true });
    // The real models load only once the test opens the gate, so "still loading" is observed without a race.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const svc = await startService(t.db, {
      migrateFirst: false,
      engineFactory: async () => {
        await gate;
        return createFaceEngine({ backend: 'wasm', workers: 1, queueLimit: 4, maxPixels: 50_000_000, maxBytes: 15 * 1024 * 1024 });
      },
    });
    try {
      expect((await request(svc.app).get('/healthz')).status).toBe(200);

      let ready = await request(svc.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.headers['retry-after']).toBeDefined();
      expect(ready.body.checks).toEqual({ database: true, migrations: false, models: false, serving: true });

      await migrate(t.db);
      ready = await request(svc.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ database: true, migrations: true, models: false, serving: true });

      const loading = svc.startEngine();
      expect((await request(svc.app).get('/readyz')).body.checks.models).toBe(false);
      open();
      await loading;
      ready = await request(svc.app).get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ status: 'ready', checks: { database: true, migrations: true, models: true, serving: true } });
    } finally {
      await svc.close();
      await t.drop();
    }
  });

  it('once shutdown begins, /readyz answers 503 (serving: false) while requests are still answered, each closing its connection', async () => {
    const t = await backend.open();
    const svc = await startService(t.db, { engine: fixedFaceEngine() });
    const server = http.createServer(svc.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = new http.Agent({ keepAlive: true });
    // Over a keep-alive connection, as a load balancer or client pool holds them.
    const get = (p: string, auth?: string) =>
      new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
        const { port } = server.address() as AddressInfo;
        http.get({ host: '127.0.0.1', port, path: p, agent, headers: auth ? { Authorization: auth } : {} }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
        }).on('error', reject);
      });
    try {
      await svc.startEngine();
      const admin = (await svc.key(['admin'], '*')).auth;
      expect(await get('/v1/keys/me', admin)).toMatchObject({ status: 200, connection: 'keep-alive' });
      svc.beginDrain();
      const ready = await get('/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toEqual({ status: 'not_ready', checks: { database: true, migrations: true, models: true, serving: false } });
      expect(await get('/v1/keys/me', admin)).toMatchObject({ status: 200, connection: 'close' });
    } finally {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
      await svc.close();
      await t.drop();
    }
  });

  it('serves Prometheus metrics and an OpenAPI 3.1 document without a key', async () => {
    const t = await backend.open();
    const svc = await startService(t.db);
    try {
      await request(svc.app).get('/v1/keys');
      const m = await request(svc.app).get('/metrics');
      expect(m.status).toBe(200);
      expect(m.text).toContain('facematch_http_requests_total');
      expect(m.text).toContain('facematch_http_request_duration_seconds_bucket');
      expect(m.text).toContain('facematch_inference_queue_depth');
      const o = await request(svc.app).get('/openapi.json');
      expect(o.status).toBe(200);
      expect(o.body.openapi).toBe('3.1.0');
      expect(Object.keys(o.body.paths)).toEqual(expect.arrayContaining(['/v1/keys', '/v1/keys/{id}', '/readyz']));
      expect(o.body.paths['/v1/keys'].post.requestBody.content['application/json'].schema.properties.roles).toBeDefined();
    } finally {
      await t.drop();
    }
  });

  it('answers unknown routes with 404 NOT_FOUND in the API error shape', async () => {
    const t = await backend.open();
    const svc = await startService(t.db);
    try {
      const res = await request(svc.app).get('/nope');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) }, requestId: expect.any(String) });
    } finally {
      await t.drop();
    }
  });

  it('ends every JSON answer with a newline (success, error, and the list of a keyed route)', async () => {
    const t = await backend.open();
    const svc = await startService(t.db);
    try {
      const admin = await svc.key(['admin'], '*');
      for (const res of [await request(svc.app).get('/healthz'), await request(svc.app).get('/nope'), await request(svc.app).get('/v1/keys').set('Authorization', admin.auth)]) {
        expect({ type: res.type, last: res.text.slice(-2) }).toEqual({ type: 'application/json', last: '}\n' });
      }
    } finally {
      await t.drop();
    }
  });
});
