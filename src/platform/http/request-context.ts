import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Principal } from '../../shared/principal';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      id: string;
      principal?: Principal;
      /** The route template of this request, when the app knows its routes (see OpenApi.routeOf). */
      routeTemplate?: () => string | null;
    }
  }
}

const CLIENT_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Every response carries `X-Request-Id` (the client's when it sent a sane one) and one log line with no bodies. */
export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.header('x-request-id');
    req.id = given && CLIENT_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      // Only method, route template, status and timing: never bodies, images, embeddings or query strings (they may name people).
      logger.info(
        {
          requestId: req.id,
          method: req.method,
          route: routeOf(req),
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
          keyId: req.principal?.keyId,
        },
        'request',
      );
    });
    next();
  };
}

/**
 * The route template (`/v1/subjects/:id`), or `unmatched`: bounded label cardinality and no ids in logs/metrics. Taken from
 * the request path, not from the matched handler, so that errors raised before (or without) a handler are labelled too.
 */
export function routeOf(req: Request): string {
  return req.routeTemplate?.() ?? 'unmatched';
}
