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

/** `purpose` is missing (alone or with `caseRef`): no search runs without a stated reason. */
export class PurposeRequiredError extends AppError {
  constructor(missing: string[]) {
    const also = missing.includes('caseRef') ? ' The case reference (`caseRef`) is missing too.' : '';
    super('PURPOSE_REQUIRED', 400, `Every search states why it is run: the \`purpose\` field is required.${also}`, { missing });
  }
}

/** `purpose` is given but `caseRef` is not: the search must name the case file it belongs to. */
export class CaseRefRequiredError extends AppError {
  constructor() {
    super('CASE_REF_REQUIRED', 400, 'Every search names the case it is run for: the `caseRef` field (your case or file reference) is required.', {
      missing: ['caseRef'],
    });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message = 'The upload is not a decodable JPEG, PNG or WebP image.') {
    super('UNSUPPORTED_MEDIA_TYPE', 415, message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number, what = 'The upload') {
    super('PAYLOAD_TOO_LARGE', 413, `${what} exceeds the limit of ${limitBytes} bytes.`, { limitBytes });
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
  constructor(retryAfterSeconds: number, headers: Record<string, string> = {}, message = 'Too many requests for this API key; retry later.') {
    super('RATE_LIMITED', 429, message, undefined, { ...headers, 'Retry-After': String(retryAfterSeconds) });
  }
}

export class OverloadedError extends AppError {
  constructor(retryAfterSeconds: number, message = 'The service is at capacity; retry later.') {
    super('OVERLOADED', 503, message, undefined, { 'Retry-After': String(retryAfterSeconds) });
  }
}

/**
 * The engine could not analyse an image it had accepted (its worker crashed, ran out of memory or overran its time): 422, as the
 * input is the likely cause; the worker has been replaced and other requests are unaffected.
 */
export class AnalysisFailedError extends AppError {
  constructor(message: string) {
    super('IMAGE_UNPROCESSABLE', 422, `${message}. The image could not be analysed; nothing was stored.`);
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

/** The database cannot be reached or dropped the connection mid-request: nothing of this request was committed. */
export class DatabaseUnavailableError extends AppError {
  constructor(retryAfterSeconds = 2) {
    super('UNAVAILABLE', 503, 'The database cannot be reached; nothing was written. Retry later.', undefined, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}

export class UnknownWatchlistError extends AppError {
  constructor(unknown: string[]) {
    super('UNKNOWN_WATCHLIST', 400, `No watchlist the caller may use here is named: ${unknown.join(', ')}.`, { unknown });
  }
}
