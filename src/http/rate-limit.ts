import type { NextFunction, Request, Response } from 'express';
import { RateLimitedError } from '../domain/errors';

/**
 * Token bucket per API key, in process memory: `perMinute` requests per minute with a burst of the same size.
 * Over the limit → 429 RATE_LIMITED with Retry-After (whole seconds until one token is back).
 */
export function rateLimit(perMinute: number, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  return (req: Request, _res: Response, next: NextFunction) => {
    const key = req.principal?.keyId;
    if (!key) return next();
    const t = now();
    const b = buckets.get(key) ?? { tokens: perMinute, at: t };
    b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * refillPerMs);
    b.at = t;
    if (b.tokens < 1) {
      buckets.set(key, b);
      return next(new RateLimitedError(Math.max(1, Math.ceil((1 - b.tokens) / refillPerMs / 1000))));
    }
    b.tokens -= 1;
    buckets.set(key, b);
    if (buckets.size > 100_000) buckets.clear();
    next();
  };
}
