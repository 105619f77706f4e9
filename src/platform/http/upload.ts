import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import { PayloadTooLargeError, ValidationError } from '../../shared/errors';

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

/**
 * multipart/form-data with exactly one file in field `video`, held in memory (the decoder writes it to its own temp folder and
 * removes it). Over `maxBytes` (VIDEO_MAX_BYTES) → 413 PAYLOAD_TOO_LARGE naming that limit.
 */
export function videoUpload(maxBytes: number) {
  const m = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxBytes, files: 1, fields: 30, fieldSize: 64 * 1024, parts: 40 },
  }).single('video');
  return (req: Request, res: Response, next: NextFunction) =>
    m(req, res, (err?: unknown) => next(err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE' ? new PayloadTooLargeError(maxBytes, 'The video') : err));
}

export function requireVideo(req: Request): Buffer {
  const f = (req as Request & { file?: Express.Multer.File }).file;
  if (!f) throw new ValidationError('A multipart field `video` with one MP4, MOV or WebM file is required.', [{ path: 'video', message: 'required' }]);
  if (f.size === 0) throw new ValidationError('The uploaded `video` file is empty (0 bytes).', [{ path: 'video', message: 'the file is empty' }]);
  return f.buffer;
}
