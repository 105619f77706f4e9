/**
 * The service's error hierarchy. Every error a client can act on has a stable `code` (API.md) and an HTTP
 * status; the HTTP error handler maps these and turns anything else into a 500 with no internals.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'A valid API key is required (Authorization: Bearer <key>).') {
    super('UNAUTHENTICATED', 401, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'This API key does not have a role that allows this action.') {
    super('FORBIDDEN', 403, message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super('NOT_FOUND', 404, `${what} not found.`);
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super('VALIDATION_FAILED', 400, message, details);
  }
}

export class PurposeRequiredError extends AppError {
  constructor(missing: string[]) {
    super('PURPOSE_REQUIRED', 400, `Every search states why it is run: ${missing.join(' and ')} required.`, { missing });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message = 'The upload is not a decodable JPEG, PNG or WebP image.') {
    super('UNSUPPORTED_MEDIA_TYPE', 415, message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', 413, `The upload exceeds the limit of ${limitBytes} bytes.`, { limitBytes });
  }
}

export class ImageTooLargeError extends AppError {
  constructor(width: number, height: number, maxPixels: number) {
    super('IMAGE_TOO_LARGE', 422, `The image is ${width}x${height} pixels; the limit is ${maxPixels} pixels.`, {
      width,
      height,
      maxPixels,
    });
  }
}

export class NoFaceError extends AppError {
  constructor(message = 'No face was found in the image.') {
    super('NO_FACE', 422, message);
  }
}

export class MultipleFacesError extends AppError {
  constructor(count: number, boxes?: unknown[]) {
    super('MULTIPLE_FACES', 422, `Enrolment needs exactly one face; ${count} were found.`, { facesDetected: count, boxes });
  }
}

export class LowQualityError extends AppError {
  constructor(score: number, issues: string[], minScore: number) {
    super('LOW_QUALITY', 422, `The face is below the enrolment quality level (${score.toFixed(2)} < ${minScore}).`, {
      score,
      minScore,
      issues,
    });
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('RATE_LIMITED', 429, 'Too many requests for this API key; retry later.', undefined, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}

export class OverloadedError extends AppError {
  constructor(retryAfterSeconds: number, message = 'The service is at capacity; retry later.') {
    super('OVERLOADED', 503, message, undefined, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super('CONFLICT', 409, message);
  }
}

export class NotReadyError extends AppError {
  constructor(message = 'The service is starting; retry later.') {
    super('NOT_READY', 503, message, undefined, { 'Retry-After': '5' });
  }
}

export class UnknownWatchlistError extends AppError {
  constructor(unknown: string[]) {
    super('UNKNOWN_WATCHLIST', 400, `No watchlist the caller may use here is named: ${unknown.join(', ')}.`, { unknown });
  }
}
