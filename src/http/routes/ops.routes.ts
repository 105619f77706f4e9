import { Router } from 'express';
import { z } from 'zod';
import { DOCS_CSP, renderApiDocs } from '../api-docs';
import type { Metrics } from '../metrics';
import type { OpenApi } from '../openapi';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

/** Unauthenticated operational endpoints: liveness, readiness (every check must pass), Prometheus metrics, the contract and its readable page. */
const readiness = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), z.boolean()) });

export function opsRouter(deps: { checks: ReadinessCheck[]; metrics: Metrics; openapi: OpenApi; version: string }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      deps.checks.map(async (c) => {
        try {
          return [c.name, await c.check()] as const;
        } catch {
          return [c.name, false] as const;
        }
      }),
    );
    const ok = results.every(([, v]) => v);
    if (!ok) res.setHeader('Retry-After', '5');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks: Object.fromEntries(results) });
  });
  r.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  r.get('/openapi.json', (_req, res) => {
    res.json(deps.openapi.document(deps.version));
  });
  r.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.type('text/html; charset=utf-8').send(renderApiDocs(deps.openapi.document(deps.version)));
  });
  deps.openapi.add(
    { method: 'get', path: '/healthz', summary: 'Liveness: the process is up', responses: { 200: { description: 'Up', schema: z.object({ status: z.literal('ok') }) } } },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: database reachable and migrated, models loaded and warmed',
      responses: {
        200: { description: 'Ready', schema: readiness },
        503: { description: 'Not ready (Retry-After); checks name what is not', schema: readiness },
      },
    },
    { method: 'get', path: '/openapi.json', summary: 'This document (OpenAPI 3.1)', responses: { 200: { description: 'The OpenAPI document', schema: z.object({ openapi: z.string() }).passthrough() } } },
    {
      method: 'get',
      path: '/docs',
      summary: 'This document as a readable HTML page: every operation grouped by tag, with roles, parameters, body fields and responses (no scripts, nothing loaded from elsewhere)',
      responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
    },
    { method: 'get', path: '/metrics', summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text', contentType: 'text/plain' } } },
  );
  return r;
}
