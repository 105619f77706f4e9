import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import { AppError, PayloadTooLargeError, ValidationError } from '../../shared/errors';
import type { UploadedPhoto } from './job.service';

export interface JobUploadLimits {
  /** Each photo (MAX_UPLOAD_BYTES): a larger one is not kept and its item fails with PAYLOAD_TOO_LARGE. */
  fileBytes: number;
  /** The whole upload (SCREENING_JOB_MAX_BYTES): beyond it the request is refused with 413 and nothing is kept. */
  totalBytes: number;
  /** Photos in one job (SCREENING_JOB_MAX_ITEMS): one more is 413. */
  maxItems: number;
  /** The manifest (SCREENING_JOB_MANIFEST_MAX_BYTES): a larger one is 413. */
  manifestBytes: number;
}

export class TooManyItemsError extends AppError {
  constructor(maxItems: number) {
    super('PAYLOAD_TOO_LARGE', 413, `A screening job holds at most ${maxItems} photos (SCREENING_JOB_MAX_ITEMS); nothing was kept. Split the batch into several jobs.`, { maxItems });
  }
}

/**
 * A multer storage engine that streams each part straight to the job's folder (never whole in memory): photos in field
 * `images` as 000001.img, 000002.img … in upload order, the manifest in field `manifest` as `manifest`, counting bytes as
 * they arrive. Files are created with mode 0600.
 */
class JobStorage implements multer.StorageEngine {
  private total = 0;
  private photos = 0;
  constructor(private readonly dir: string, private readonly limits: JobUploadLimits) {}

  _handleFile(_req: Request, file: Express.Multer.File, cb: (error?: unknown, info?: Partial<Express.Multer.File> & { oversized?: boolean }) => void): void {
    const manifest = file.fieldname === 'manifest';
    if (!manifest && file.fieldname !== 'images') {
      cb(new ValidationError(`Unexpected file field \`${file.fieldname}\`: photos go in \`images\`, the manifest in \`manifest\`.`, [{ path: file.fieldname, message: 'unexpected file field' }]));
      return;
    }
    if (!manifest && ++this.photos > this.limits.maxItems) {
      cb(new TooManyItemsError(this.limits.maxItems));
      return;
    }
    const name = manifest ? 'manifest' : `${String(this.photos).padStart(6, '0')}.img`;
    const limit = manifest ? this.limits.manifestBytes : this.limits.fileBytes;
    let size = 0;
    let oversized = false;
    const count = new Transform({
      transform: (chunk: Buffer, _enc, next) => {
        this.total += chunk.length;
        size += chunk.length;
        if (this.total > this.limits.totalBytes) return next(new PayloadTooLargeError(this.limits.totalBytes, 'The screening job upload (SCREENING_JOB_MAX_BYTES)'));
        if (size > limit) {
          if (manifest) return next(new PayloadTooLargeError(limit, 'The manifest (SCREENING_JOB_MANIFEST_MAX_BYTES)'));
          // The rest of an oversized photo is read and dropped; what was written of it is removed below.
          oversized = true;
          return next();
        }
        next(null, chunk);
      },
    });
    const target = path.join(this.dir, name);
    fs.promises
      .mkdir(this.dir, { recursive: true, mode: 0o700 })
      .then(() => pipeline(file.stream, count, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 })))
      .then(async () => {
        if (oversized) await fs.promises.writeFile(target, '');
        cb(null, { path: target, filename: name, size, oversized });
      }, cb);
  }

  _removeFile(_req: Request, file: Express.Multer.File, cb: (error: Error | null) => void): void {
    fs.promises.rm(file.path, { force: true }).then(() => cb(null), cb);
  }
}

/**
 * multipart/form-data of a screening job into `dir` (created on the first file). Text fields are the search fields; files
 * are `images` (one part per photo, its name as the client sent it) and an optional `manifest`. On any error the folder is
 * removed before the error is passed on.
 */
export function jobUpload(dirOf: (req: Request) => string, limits: JobUploadLimits) {
  return (req: Request, res: Response, next: NextFunction) => {
    const dir = dirOf(req);
    const m = multer({
      storage: new JobStorage(dir, limits),
      limits: { files: limits.maxItems + 1, fields: 30, fieldSize: 64 * 1024, parts: limits.maxItems + 31 },
    }).any();
    m(req, res, (err?: unknown) => {
      if (!err) return next();
      fs.promises.rm(dir, { recursive: true, force: true }).finally(() => {
        if (err instanceof multer.MulterError && (err.code === 'LIMIT_FILE_COUNT' || err.code === 'LIMIT_PART_COUNT')) next(new TooManyItemsError(limits.maxItems));
        else next(err);
      });
    });
  };
}

/** The photos and the manifest's text of a parsed job upload. */
export async function uploadedParts(req: Request): Promise<{ photos: UploadedPhoto[]; manifest: string | null }> {
  const files = ((req as Request & { files?: Array<Express.Multer.File & { oversized?: boolean }> }).files ?? []);
  const manifests = files.filter((f) => f.fieldname === 'manifest');
  if (manifests.length > 1) throw new ValidationError('One `manifest` file at most.', [{ path: 'manifest', message: 'more than one' }]);
  const manifest = manifests[0] ? await fs.promises.readFile(manifests[0].path, 'utf8') : null;
  const photos = (files as Array<Express.Multer.File & { oversized?: boolean }>)
    .filter((f) => f.fieldname === 'images')
    .map((f) => ({ fileName: path.basename(f.originalname || f.filename).slice(0, 255), storedFile: f.filename, oversized: !!f.oversized }));
  return { photos, manifest };
}
