import type { NextFunction, Request, Response } from 'express';
import { RateLimitedError } from '../../shared/errors';
import type { Db } from '../../shared/db';
import type { RateBucketRepo } from './rate-bucket.repo';

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
 * Where the token buckets live. `take` refills bucket `key` of rate `perMinute` (burst of the same size, refilled
 * continuously: elapsed × perMinute / 60000, exact for whole milliseconds; never negative), takes one token when there is one,
 * and says how many are left. Buckets of different rates never share state.
 */
export interface BucketStore {
  take(key: string, perMinute: number): Promise<{ tokens: number; allowed: boolean }>;
}

/**
 * Buckets in process memory: one instance (PGlite is embedded and single-process), or RATE_LIMIT_STORE=memory. The clock is
 * injected (tests move it instead of sleeping).
 */
export function memoryBucketStore(now: () => number = Date.now): BucketStore {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    async take(key, perMinute) {
      const id = `${perMinute}/${key}`;
      const t = now();
      const b = buckets.get(id) ?? { tokens: perMinute, at: t };
      b.tokens = Math.min(perMinute, b.tokens + (Math.max(0, t - b.at) * perMinute) / 60_000);
      b.at = Math.max(b.at, t);
      const allowed = b.tokens >= 1;
      if (allowed) b.tokens -= 1;
      if (buckets.size >= 100_000 && !buckets.has(id)) buckets.clear();
      buckets.set(id, b);
      return { tokens: b.tokens, allowed };
    },
  };
}

/**
 * Buckets in PostgreSQL (table `rate_bucket`), shared by every instance on the database: one atomic upsert per decision.
 * Chosen over Redis because the instances already share PostgreSQL and every /v1 request needs it anyway (a key is read from
 * it on every request): no second service to deploy, secure and monitor, and no second failure mode — when the database is
 * unreachable the decision fails with the 503 UNAVAILABLE every other request gets (docs/deploy.md, "Running several instances";
 * the cost per request is measured in docs/SCALING.md). Time is the database's clock unless one is injected (tests), so
 * instances with slightly different clocks still share one timeline. Buckets full again are swept once a minute.
 */
export function databaseBucketStore(db: Db, repo: RateBucketRepo, clock?: () => number): BucketStore {
  const swept = new Map<number, number>();
  return {
    async take(key, perMinute) {
      const wall = Date.now();
      if (wall - (swept.get(perMinute) ?? 0) >= 60_000) {
        swept.set(perMinute, wall);
        // Housekeeping only (a full bucket and an absent one decide alike): a failure is retried a minute later.
        repo.sweep(db, perMinute, clock?.() ?? null).catch(() => undefined);
      }
      return repo.take(db, key, perMinute, clock?.() ?? null);
    },
  };
}

export function createRateLimiter(perMinute: number, store: BucketStore) {
  const msPerToken = 60_000 / perMinute;
  return {
    async take(key: string): Promise<RateDecision> {
      const { tokens, allowed } = await store.take(key, perMinute);
      return {
        allowed,
        limit: perMinute,
        remaining: Math.floor(tokens),
        retryAfter: tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - tokens) * msPerToken) / 1000)),
        reset: Math.ceil(((perMinute - tokens) * msPerToken) / 1000),
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
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = req.principal?.keyId;
    if (!key) return next();
    const d = await limiter.take(`key:${key}`);
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
  return async (req: Request): Promise<RateLimitedError | null> => {
    const d = await limiter.take(`addr:${req.socket.remoteAddress ?? 'unknown'}`);
    return d.allowed ? null : new RateLimitedError(d.retryAfter, headersOf(d), 'Too many requests without a valid API key from this address; retry later.');
  };
}
