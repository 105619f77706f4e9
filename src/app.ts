import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { KeyService } from './modules/key/key.service';
import { authenticate } from './platform/http/auth';
import { errorHandler, notFoundHandler } from './platform/http/error-handler';
import type { Metrics } from './platform/http/metrics';
import { createOpenApi } from './platform/http/openapi';
import { createRateLimiter, keyRateLimit, memoryBucketStore, unauthenticatedLimit, type BucketStore } from './platform/http/rate-limit';
import { securityHeaders } from './platform/http/security-headers';
import { requestContext } from './platform/http/request-context';
import { consoleRouter } from './platform/http/console';
import { REPORT_CSS_SHA256 } from './modules/oversight/report-html';
import { keysRouter } from './modules/key/key.routes';
import { opsRouter, type ReadinessCheck, type ReplicaDetail } from './platform/http/ops.routes';
import { wellKnownRouter } from './platform/http/well-known.routes';
import type { DeploymentKey } from './platform/crypto/deployment-key';

export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  keys: KeyService;
  readiness: ReadinessCheck[];
  /** The read replica's routing state for /readyz, when DATABASE_READ_URL is set. */
  replica?: () => ReplicaDetail;
  /** Mounts the domain routers under /v1 (subjects, searches, verify, audit …); given the OpenAPI registry to describe them. */
  mountV1?: (v1: express.Router, openapi: ReturnType<typeof createOpenApi>) => void;
  /** Mounts routes outside /v1 that authenticate otherwise (the signed federation routes and the well-known identity). */
  mountPublic?: (app: express.Express, openapi: ReturnType<typeof createOpenApi>) => void;
  version?: string;
  /** The deployment's signing key, published at /.well-known/facematch/keys. */
  deploymentKey?: Pick<DeploymentKey, 'publicJwk'>;
  /** Milliseconds clock for the rate limiters (tests move it instead of sleeping). */
  clock?: () => number;
  /**
   * Where the rate limits' token buckets live, one store per limiter (default: process memory, on `clock`, so a flood of
   * addresses that empties the address map never resets the per-key buckets); shared by instances on PostgreSQL.
   */
  rateBuckets?: () => BucketStore;
  /** True once shutdown has begun: every answer then closes its connection, so keep-alive clients reconnect elsewhere. */
  draining?: () => boolean;
  /** Built console to serve at `/` (default dist/console). */
  consoleDir?: string;
}

/** JSON request bodies (subjects, keys, reviews) are small; uploads are multipart and limited by MAX_UPLOAD_BYTES. */
export const JSON_LIMIT_BYTES = 256 * 1024;

/** The Express app. Never listens: main.ts does, and supertest drives it directly. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  // Every JSON answer ends with a newline (Express's res.json sends none), so curl's output ends its line in a terminal and
  // answers printed one after another stay apart.
  app.response.json = function json(this: express.Response, body: unknown) {
    if (!this.get('Content-Type')) this.type('application/json');
    return this.send(body === undefined ? '' : `${JSON.stringify(body)}\n`);
  };
  const openapi = createOpenApi();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((req, _res, next) => {
    req.routeTemplate = () => openapi.routeOf(req.method, req.originalUrl.split('?')[0]!);
    next();
  });
  app.use(securityHeaders);
  app.use((_req, res, next) => {
    if (deps.draining?.()) res.setHeader('Connection', 'close');
    next();
  });
  app.use(requestContext(deps.logger));
  app.use(deps.metrics.middleware);
  const version = deps.version ?? '0.1.0';
  app.use(opsRouter({ checks: deps.readiness, metrics: deps.metrics, openapi, version, replica: deps.replica }));
  if (deps.deploymentKey) app.use(wellKnownRouter(deps.deploymentKey, openapi));
  // The document /openapi.json serves, for in-process readers (the contract check in the test helpers).
  app.locals.openapiDocument = () => openapi.document(version);
  deps.mountPublic?.(app, openapi);

  const v1 = express.Router();
  const buckets = deps.rateBuckets ?? (() => memoryBucketStore(deps.clock));
  v1.use(authenticate(deps.keys, unauthenticatedLimit(createRateLimiter(deps.config.limits.unauthenticatedPerMinute, buckets()))));
  v1.use(keyRateLimit(createRateLimiter(deps.config.limits.ratePerMinute, buckets())));
  v1.use(express.json({ limit: JSON_LIMIT_BYTES }));
  v1.use('/keys', keysRouter(deps.keys, openapi));
  deps.mountV1?.(v1, openapi);
  app.use('/v1', v1);
  app.use(consoleRouter(deps.consoleDir, { styleHashes: [REPORT_CSS_SHA256] }));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger, { uploadBytes: deps.config.limits.uploadBytes, jsonBytes: JSON_LIMIT_BYTES }));
  return app;
}
