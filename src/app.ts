import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { KeyService } from './domain/key.service';
import { authenticate } from './http/auth';
import { errorHandler, notFoundHandler } from './http/error-handler';
import type { Metrics } from './http/metrics';
import { createOpenApi } from './http/openapi';
import { rateLimit } from './http/rate-limit';
import { requestContext } from './http/request-context';
import { consoleRouter } from './http/console';
import { keysRouter } from './http/routes/keys.routes';
import { opsRouter, type ReadinessCheck } from './http/routes/ops.routes';

export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  keys: KeyService;
  readiness: ReadinessCheck[];
  /** Mounts the domain routers under /v1 (subjects, searches, verify, audit …); given the OpenAPI registry to describe them. */
  mountV1?: (v1: express.Router, openapi: ReturnType<typeof createOpenApi>) => void;
  version?: string;
  /** Built console to serve at `/` (default dist/console). */
  consoleDir?: string;
}

/** The Express app. Never listens: main.ts does, and supertest drives it directly. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  const openapi = createOpenApi();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(deps.logger));
  app.use(deps.metrics.middleware);
  app.use(opsRouter({ checks: deps.readiness, metrics: deps.metrics, openapi, version: deps.version ?? '0.1.0' }));

  const v1 = express.Router();
  v1.use(authenticate(deps.keys));
  v1.use(rateLimit(deps.config.limits.ratePerMinute));
  v1.use(express.json({ limit: '256kb' }));
  v1.use('/keys', keysRouter(deps.keys, openapi));
  deps.mountV1?.(v1, openapi);
  app.use('/v1', v1);
  app.use(consoleRouter(deps.consoleDir));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger, deps.config.limits.uploadBytes));
  return app;
}
