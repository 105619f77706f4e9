import express from 'express';
import request from 'supertest';
import { createOpenApi } from '../../src/platform/http/openapi';
import { z } from 'zod';
import { createPgliteDb } from '../../src/platform/db/pglite.db';
import type { Db } from '../../src/shared/db';
import { startService } from '../helpers/app';
import { createContractChecker } from '../helpers/contract';

/**
 * /openapi.json as a client generator reads it. Every response of every other test is validated against it by the jest setup
 * (test/helpers/contract.setup.ts); these tests check the document's own promises and that the check catches drifts.
 */
type Doc = {
  tags: { name: string }[];
  paths: Record<string, Record<string, { tags: string[]; parameters: { name: string; in: string; schema: Record<string, unknown> }[]; requestBody?: { content: Record<string, { schema: { required?: string[]; properties: Record<string, Record<string, unknown>> } }> }; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
};

let db: Db;
let doc: Doc;
beforeAll(async () => {
  db = await createPgliteDb('memory://');
  const svc = await startService(db);
  doc = (await request(svc.app).get('/openapi.json').expect(200)).body;
  expect(doc).toEqual(JSON.parse(JSON.stringify(svc.app.locals.openapiDocument())));
});
afterAll(() => db.close());

const operations = () => Object.entries(doc.paths).flatMap(([p, methods]) => Object.entries(methods).map(([m, op]) => ({ id: `${m.toUpperCase()} ${p}`, path: p, op })));

describe('the OpenAPI document', () => {
  it('tags every operation with a declared tag', () => {
    const tags = doc.tags.map((t) => t.name);
    for (const { id, op } of operations()) expect({ id, tags: op.tags.filter((t) => tags.includes(t)) }).toEqual({ id, tags: [expect.any(String)] });
    expect(tags).toEqual(expect.arrayContaining(['subjects', 'searches', 'verify', 'reviews', 'audit', 'oversight', 'keys', 'operations']));
  });

  it('declares every status explicitly (no default) and every error status with the shared error schema', () => {
    for (const { id, path, op } of operations()) {
      expect({ id, default: op.responses.default }).toEqual({ id, default: undefined });
      for (const [status, r] of Object.entries(op.responses)) {
        if (Number(status) >= 400 && !(path === '/readyz' && status === '503')) {
          expect({ id, status, schema: r.content?.['application/json']?.schema }).toEqual({ id, status, schema: { $ref: '#/components/schemas/Error' } });
        }
      }
      if (path.startsWith('/v1/')) expect({ id, statuses: Object.keys(op.responses) }).toEqual({ id, statuses: expect.arrayContaining(['401', '403', '429', '500', '503']) });
      if (path.includes('{')) expect({ id, statuses: Object.keys(op.responses) }).toEqual({ id, statuses: expect.arrayContaining(['400', '404']) });
    }
  });

  it('documents request fields as a client sends them: mode and topK optional, from/to as ISO 8601 strings', () => {
    const search = doc.paths['/v1/searches']!.post!.requestBody!.content['multipart/form-data']!.schema;
    expect(search.required!.sort()).toEqual(['caseRef', 'image', 'purpose']);
    expect(search.properties.mode).toMatchObject({ enum: ['investigative', 'screening'], default: 'investigative' });
    for (const p of ['/v1/searches', '/v1/audit/events', '/v1/audit/export', '/v1/oversight/stats']) {
      for (const name of ['from', 'to']) {
        const param = doc.paths[p]!.get!.parameters.find((x) => x.name === name)!;
        expect({ p, name, schema: param.schema }).toEqual({ p, name, schema: expect.objectContaining({ type: 'string', pattern: expect.any(String) }) });
      }
    }
  });

  it('declares the HTML case-file report beside the JSON one', () => {
    expect(Object.keys(doc.paths['/v1/searches/{id}/report']!.get!.responses['200']!.content!).sort()).toEqual(['application/json', 'text/html']);
  });

  it('compiles every declared schema with a JSON Schema 2020-12 validator', () => {
    const check = createContractChecker(doc as never);
    for (const { path, op } of operations()) {
      for (const status of Object.keys(op.responses)) {
        const concrete = path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
        // Any verdict will do; compiling must not throw.
        check({ method: operations().find((o) => o.op === op)!.id.split(' ')[0]!, path: concrete, status: Number(status), contentType: 'application/json', body: {}, text: '{}' });
      }
    }
  });
});

describe('the contract check on every supertest response', () => {
  const driftingApp = () => {
    const api = createOpenApi();
    api.add({ method: 'get', path: '/thing', summary: 'A thing', responses: { 200: { description: 'Thing', schema: z.object({ id: z.string() }) } } });
    const app = express();
    app.locals.openapiDocument = () => api.document('test');
    app.get('/thing', (req, res) => {
      if (req.query.teapot) res.status(418).json({ error: { code: 'TEAPOT', message: 'short and stout' }, requestId: 'r' });
      else res.json({ id: 'x', surprise: true });
    });
    return app;
  };

  it('fails a request whose body has a field the document does not declare, naming the field', async () => {
    await expect(request(driftingApp()).get('/thing')).rejects.toThrow(/OpenAPI contract: GET \/thing → 200: .*\(surprise\)/);
  });

  it('fails a request answered with a status the operation does not declare', async () => {
    await expect(request(driftingApp()).get('/thing?teapot=1')).rejects.toThrow(/status 418 is not declared for GET \/thing/);
  });

  it('fails a request to a route the document does not declare unless it is the shared 404 error', async () => {
    await expect(request(driftingApp()).get('/nowhere')).rejects.toThrow(/OpenAPI contract: GET \/nowhere → 404: undeclared route, and the body is not the shared error schema/);
  });
});
