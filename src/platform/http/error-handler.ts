import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { AppError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../../shared/errors';

export interface BodyLimits {
  uploadBytes: number;
  jsonBytes: number;
}

/**
 * Errors of the HTTP layer's own parsers (express's path decoding, body-parser, multer/busboy) as API.md errors: they are
 * the client's fault, never a 500.
 */
function toAppError(err: unknown, limits: BodyLimits): AppError | null {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    return new ValidationError(
      'The request is not valid.',
      err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return new PayloadTooLargeError(limits.uploadBytes);
    return new ValidationError(`Invalid multipart upload: ${err.message}${err.field ? ` (field ${err.field})` : ''}.`);
  }
  const e = err as { type?: string; status?: number; statusCode?: number; expose?: boolean };
  if (e?.type === 'entity.too.large') return new PayloadTooLargeError(limits.jsonBytes, 'The JSON body');
  if (e?.type === 'entity.parse.failed') return new ValidationError('The request body is not valid JSON.');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new UnsupportedMediaTypeError('The request body must be UTF-8 JSON or multipart/form-data.');
  }
  if (err instanceof URIError) return new ValidationError('The request path is not valid percent-encoding.');
  if (err instanceof Error && /multipart|boundary|unexpected end of form|malformed part header|part terminated/i.test(err.message)) {
    return new ValidationError(`Invalid multipart upload: ${err.message}`);
  }
  const status = e?.status ?? e?.statusCode;
  if (status && status >= 400 && status < 500 && err instanceof Error) {
    if (status === 413) return new PayloadTooLargeError(limits.jsonBytes, 'The request body');
    if (status === 415) return new UnsupportedMediaTypeError(err.message);
    return new ValidationError(e.expose ? err.message : 'The request is not valid.');
  }
  return null;
}

/** The one place that turns errors into API.md's error body. Unknown errors are 500s with the request id and no internals. */
export function errorHandler(logger: Logger, limits: BodyLimits) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const app = toAppError(err, limits);
    if (!app) {
      logger.error({ requestId: req.id, err: { name: (err as Error)?.name, message: (err as Error)?.message, stack: (err as Error)?.stack } }, 'unhandled error');
    }
    const status = app?.status ?? 500;
    if (app?.headers) for (const [k, v] of Object.entries(app.headers)) res.setHeader(k, v);
    res.status(status).json({
      error: {
        code: app?.code ?? 'INTERNAL',
        message: app?.message ?? 'An internal error occurred; quote the request id when reporting it.',
        ...(app?.details !== undefined ? { details: app.details } : {}),
      },
      requestId: req.id,
    });
  };
}

export function notFoundHandler(req: Request, _res: Response, next: NextFunction) {
  next(new NotFoundError(`Route ${req.method} ${req.path}`));
}
