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

/**
 * The purpose does not meet the purpose policy that applies to the caller's organization (too short, or not one of the
 * organization's allowed purposes). details: { minLength, allowed } so a client can say what would be accepted.
 */
export class PurposeNotAllowedError extends AppError {
  constructor(message: string, details: { minLength: number; allowed: string[] | null }) {
    super('PURPOSE_NOT_ALLOWED', 400, message, details);
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
  /** `details` (enrolment with a chosen face that is not there): the faces that are, `{facesDetected, boxes}`. */
  constructor(message = 'No face was found in the image.', details?: unknown) {
    super('NO_FACE', 422, message, details);
  }
}

export class MultipleFacesError extends AppError {
  /** `dominantRatio`: the enrolment rule that found no dominant face (null: the rule is off). */
  constructor(count: number, boxes?: unknown[], dominantRatio?: number | null) {
    super(
      'MULTIPLE_FACES',
      422,
      `Enrolment needs one face; ${count} were found and none is clearly the subject: choose one with faceIndex (0-based, as in details.boxes) or box.`,
      { facesDetected: count, boxes, ...(dominantRatio !== undefined ? { dominantRatio } : {}) },
    );
  }
}

export class LowQualityError extends AppError {
  /**
   * `overrule`: enrolment's floor, whether acceptQuality=true would take this face (at or above the floor, and the watchlist's
   * policy is not `never`) and that policy.
   */
  constructor(score: number, issues: string[], minScore: number, overrule?: { floor: number; overrulable: boolean; policy?: string }) {
    const why = overrule && overrule.policy === 'never' && score >= overrule.floor ? " The watchlist's enrolment policy allows no overrule." : ` It is under the floor (${overrule?.floor}): no overrule.`;
    const hint = overrule ? (overrule.overrulable ? ' To enrol it anyway, send acceptQuality=true.' : why) : '';
    super('LOW_QUALITY', 422, `The face is below the enrolment quality level (${score.toFixed(2)} < ${minScore}).${hint}`, {
      score,
      minScore,
      issues,
      ...(overrule ? { floor: overrule.floor, overrulable: overrule.overrulable, ...(overrule.policy ? { policy: overrule.policy } : {}) } : {}),
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

/** Revoking this key would leave organization `*` without an active admin key, and nobody could manage keys any more. */
export class LastAdminError extends AppError {
  constructor() {
    super(
      'LAST_ADMIN',
      409,
      'This is the last active admin key of organization *: create another admin key for organization * first, then revoke this one.',
    );
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

/** The video is longer than VIDEO_MAX_SECONDS. */
export class VideoTooLongError extends AppError {
  constructor(seconds: number, maxSeconds: number) {
    super('VIDEO_TOO_LONG', 422, `The clip lasts ${seconds.toFixed(1)} s; the limit is ${maxSeconds} s.`, { durationSeconds: seconds, maxSeconds });
  }
}

/** Frames larger than VIDEO_MAX_PIXELS. */
export class VideoTooLargeError extends AppError {
  constructor(width: number, height: number, maxPixels: number) {
    super('VIDEO_TOO_LARGE', 422, `The video is ${width}x${height} pixels a frame; the limit is ${maxPixels} pixels.`, { width, height, maxPixels });
  }
}

/** A container without any video stream (an audio file, a subtitle track). */
export class NoVideoStreamError extends AppError {
  constructor() {
    super('VIDEO_NO_VIDEO_STREAM', 422, 'The file holds no video stream (audio only?): there is nothing to search.');
  }
}

/** Probing and decoding together ran over VIDEO_DECODE_TIMEOUT_MS: the decoder process was killed. */
export class VideoDecodeTimeoutError extends AppError {
  constructor(timeoutMs: number) {
    super('VIDEO_DECODE_TIMEOUT', 422, `Decoding the clip took longer than ${timeoutMs} ms (VIDEO_DECODE_TIMEOUT_MS); the decoder was stopped. A shorter or smaller clip may pass. Nothing was stored.`, { timeoutMs });
  }
}

/** The decoder process ran out of the address space VIDEO_DECODE_MEMORY_MB allows it (or could not even start within it). */
export class VideoMemoryLimitError extends AppError {
  constructor(limitBytes: number) {
    super('VIDEO_MEMORY_LIMIT', 422, `Decoding the clip needs more memory than this deployment allows its decoder (${Math.round(limitBytes / 1048576)} MiB, VIDEO_DECODE_MEMORY_MB); a clip of smaller frames may pass. Nothing was stored.`, { limitBytes });
  }
}

/** It probed as a video but decoding failed or gave no frame. */
export class VideoUnprocessableError extends AppError {
  constructor(message: string) {
    super('VIDEO_UNPROCESSABLE', 422, `${message} Nothing was stored.`);
  }
}

/** No decoder was found at start: the video route answers 501, everything else works. */
export class DecoderUnavailableError extends AppError {
  constructor() {
    super('DECODER_UNAVAILABLE', 501, 'This deployment has no video decoder (ffmpeg and ffprobe, and prlimit while VIDEO_DECODE_MEMORY_MB is set, were not found at start; see FFMPEG_PATH). Still images can be searched with POST /v1/searches.');
  }
}
