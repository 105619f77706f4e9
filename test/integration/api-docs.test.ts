import request from 'supertest';
import type { Db } from '../../src/shared/db';
import { createPgliteDb } from '../../src/platform/db/pglite.db';
import { startService } from '../helpers/app';

/** GET /docs: the served OpenAPI document as one self-contained HTML page (no key, no scripts, nothing loaded from elsewhere). */
let db: Db;
let app: Awaited<ReturnType<typeof startService>>['app'];
beforeAll(async () => {
  db = await createPgliteDb('memory://');
  app = (await startService(db)).app;
});
afterAll(() => db.close());

describe('the API page at /docs', () => {
  it('answers 200 HTML, without an API key, naming every path and operation of /openapi.json', async () => {
    const doc = (await request(app).get('/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { summary: string }>>;
      tags: Array<{ name: string }>;
    };
    const res = await request(app).get('/docs').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    const html = res.text;
    const escaped = (s: string) => s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
    for (const [path, methods] of Object.entries(doc.paths)) {
      expect({ path, listed: html.includes(`<code>${escaped(path)}</code>`) }).toEqual({ path, listed: true });
      for (const [method, op] of Object.entries(methods)) {
        expect({ op: `${method} ${path}`, listed: html.includes(`id="${escaped(`${method}-${path}`)}"`) && html.includes(escaped(op.summary)) }).toEqual({
          op: `${method} ${path}`,
          listed: true,
        });
      }
    }
    for (const { name } of doc.tags) expect(html).toContain(`id="tag-${name}"`);
  });

  it('shows roles, parameters, request body fields and responses of an operation', async () => {
    const html = (await request(app).get('/docs').expect(200)).text;
    const search = html.slice(html.indexOf('id="post-/v1/searches"'), html.indexOf('</section>', html.indexOf('id="post-/v1/searches"')));
    expect(search).toContain('Roles: searcher.');
    expect(search).toContain('<code>multipart/form-data</code>');
    for (const field of ['image', 'purpose', 'caseRef', 'maxFalseMatchRate']) expect(search).toContain(`<td><code>${field}</code></td>`);
    expect(search).toMatch(/<td>200<\/td><td>Ranked candidates/);
    expect(search).toMatch(/<td>422<\/td>/);
    const subject = html.slice(html.indexOf('id="get-/v1/subjects/{id}"'));
    expect(subject).toMatch(/<td><code>id<\/code><\/td><td>path<\/td>/);
  });

  it('runs no script and loads nothing from elsewhere, under a strict Content-Security-Policy', async () => {
    const res = await request(app).get('/docs').expect(200);
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'unsafe-inline'/);
    expect(res.text).not.toMatch(/<script|<link|<img|<iframe|src=|https?:\/\//i);
  });
});
