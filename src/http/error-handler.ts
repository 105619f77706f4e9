import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { AppError, NotFoundError, PayloadTooLargeError, ValidationError } from '../domain/errors';

function toAppError(err: unknown, uploadLimit: number): AppError | null {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    return new ValidationError(
      'The request is not valid.',
      err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return new PayloadTooLargeError(uploadLimit);
    return new ValidationError(`Invalid multipart upload: ${err.message}${err.field ? ` (field ${err.field})` : ''}.`);
  }
  const e = err as { type?: string; status?: number };
  if (e?.type === 'entity.too.large') return new PayloadTooLargeError(uploadLimit);
  if (e?.type === 'entity.parse.failed') return new ValidationError('The request body is not valid JSON.');
  if (e?.status === 400 && err instanceof Error && /multipart|boundary/i.test(err.message)) {
    return new ValidationError(`Invalid multipart upload: ${err.message}`);
  }
  return null;
}

/** The one place that turns errors into API.md's error body. Unknown errors are 500s with the request id and no internals. */
export function errorHandler(logger: Logger, uploadLimit: number) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const app = toAppError(err, uploadLimit);
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
