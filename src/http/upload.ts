import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import { ValidationError } from '../domain/errors';

/**
 * multipart/form-data with exactly one file in field `image`, held in memory (never written to disk: probe images are not
 * kept). Over `maxBytes` → 413 PAYLOAD_TOO_LARGE (mapped in the error handler).
 */
export function imageUpload(maxBytes: number) {
  const m = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxBytes, files: 1, fields: 30, fieldSize: 64 * 1024, parts: 40 },
  }).single('image');
  return (req: Request, res: Response, next: NextFunction) => m(req, res, (err?: unknown) => next(err));
}

export function requireImage(req: Request): Buffer {
  const f = (req as Request & { file?: Express.Multer.File }).file;
  if (!f) throw new ValidationError('A multipart field `image` with one JPEG, PNG or WebP file is required.', [{ path: 'image', message: 'required' }]);
  if (f.size === 0) throw new ValidationError('The uploaded `image` file is empty (0 bytes).', [{ path: 'image', message: 'the file is empty' }]);
  return f.buffer;
}
