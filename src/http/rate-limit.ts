import type { NextFunction, Request, Response } from 'express';
import { RateLimitedError } from '../domain/errors';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Whole requests left in the bucket after this one. */
  remaining: number;
  /** Seconds until one more request is allowed (0 when one is). */
  retryAfter: number;
  /** Seconds until the bucket is full again. */
  reset: number;
}

/**
 * Token buckets in process memory: `perMinute` requests per minute with a burst of the same size, refilled continuously.
 * The clock is injected (tests move it instead of sleeping). Refill is computed as elapsed × perMinute / 60000, exact for
 * whole milliseconds.
 */
export function createRateLimiter(perMinute: number, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const msPerToken = 60_000 / perMinute;

  return {
    take(key: string): RateDecision {
      const t = now();
      const b = buckets.get(key) ?? { tokens: perMinute, at: t };
      b.tokens = Math.min(perMinute, b.tokens + ((t - b.at) * perMinute) / 60_000);
      b.at = t;
      const allowed = b.tokens >= 1;
      if (allowed) b.tokens -= 1;
      if (buckets.size >= 100_000 && !buckets.has(key)) buckets.clear();
      buckets.set(key, b);
      return {
        allowed,
        limit: perMinute,
        remaining: Math.floor(b.tokens),
        retryAfter: b.tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - b.tokens) * msPerToken) / 1000)),
        reset: Math.ceil(((perMinute - b.tokens) * msPerToken) / 1000),
      };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

function headersOf(d: RateDecision): Record<string, string> {
  return { 'RateLimit-Limit': String(d.limit), 'RateLimit-Remaining': String(d.remaining), 'RateLimit-Reset': String(d.reset) };
}

/** Per API key (after authentication): RateLimit-* headers on every answer; over the limit → 429 RATE_LIMITED with Retry-After. */
export function keyRateLimit(limiter: RateLimiter) {
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.principal?.keyId;
    if (!key) return next();
    const d = limiter.take(`key:${key}`);
    for (const [k, v] of Object.entries(headersOf(d))) res.setHeader(k, v);
    if (!d.allowed) return next(new RateLimitedError(d.retryAfter, headersOf(d)));
    next();
  };
}

/**
 * Requests without a valid API key, per client address (the socket's: `trust proxy` is off): each failed authentication takes
 * a token; once they are used up the answer is 429 instead of 401 until the bucket refills. Keyed requests from the same
 * address are not affected.
 */
export function unauthenticatedLimit(limiter: RateLimiter) {
  return (req: Request): RateLimitedError | null => {
    const d = limiter.take(`addr:${req.socket.remoteAddress ?? 'unknown'}`);
    return d.allowed ? null : new RateLimitedError(d.retryAfter, headersOf(d), 'Too many requests without a valid API key from this address; retry later.');
  };
}
