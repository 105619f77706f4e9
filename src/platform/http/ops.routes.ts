import { Router } from 'express';
import { z } from 'zod';
import { DOCS_CSP, renderApiDocs } from './api-docs';
import type { Metrics } from './metrics';
import type { OpenApi } from './openapi';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
  /** false: reported in `checks` but never makes the service not ready (a read replica: reads fall back to the primary). */
  required?: boolean;
}

/** Why reads do or do not go to the read replica (DATABASE_READ_URL), when one is configured. */
const replicaDetail = z.object({
  state: z.enum(['ok', 'lagging', 'down', 'not_standby', 'unknown']),
  lagMs: z.number().nullable(),
  maxLagMs: z.number(),
});
export type ReplicaDetail = z.infer<typeof replicaDetail>;

/** Unauthenticated operational endpoints: liveness, readiness (every check must pass), Prometheus metrics, the contract and its readable page. */
const readiness = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), z.boolean()), replica: replicaDetail.optional() });

export function opsRouter(deps: { checks: ReadinessCheck[]; metrics: Metrics; openapi: OpenApi; version: string; replica?: () => ReplicaDetail }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      deps.checks.map(async (c) => {
        try {
          return [c.name, await c.check(), c.required !== false] as const;
        } catch {
          return [c.name, false, c.required !== false] as const;
        }
      }),
    );
    const ok = results.every(([, v, required]) => v || !required);
    if (!ok) res.setHeader('Retry-After', '5');
    const replica = deps.replica?.();
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ready' : 'not_ready',
      checks: Object.fromEntries(results.map(([name, v]) => [name, v])),
      ...(replica ? { replica: { state: replica.state, lagMs: replica.lagMs, maxLagMs: replica.maxLagMs } } : {}),
    });
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
      summary:
        'Readiness: database reachable and migrated, models loaded and warmed. With a read replica, `checks.replica` and `replica` say whether reads use it; a replica that is down or lagging never makes the service not ready (reads go to the primary)',
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
