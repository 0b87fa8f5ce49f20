import type { RateLimitOptions } from './types.js';

// Cloudflare's global API limit: 1,200 requests per five minutes per user or account token; over it,
// calls are blocked for the next five minutes (developers.cloudflare.com/fundamentals/api/reference/limits/).
export const DEFAULT_RATE_LIMIT: RateLimitOptions = { requests: 1200, windowMs: 300_000, retryAfterSeconds: 300 };

export interface RateDecision {
  allowed: boolean;
  remaining: number;
  /** Seconds until the oldest counted request leaves the window. */
  resetSeconds: number;
}

/** Sliding-window request counter per credential. Rejected requests do not count. */
export class RateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(private readonly options: RateLimitOptions) {
    if (!Number.isInteger(options.requests) || options.requests < 1 || options.windowMs <= 0) {
      throw new Error(
        `rate limit of ${options.requests} requests per ${options.windowMs} ms is invalid; use a positive integer and a positive window`,
      );
    }
  }

  get limit(): RateLimitOptions {
    return this.options;
  }

  take(credential: string, now = Date.now()): RateDecision {
    const since = now - this.options.windowMs;
    const times = (this.windows.get(credential) ?? []).filter((time) => time > since);
    const allowed = times.length < this.options.requests;
    if (allowed) times.push(now);
    this.windows.set(credential, times);
    const oldest = times[0] ?? now;
    return {
      allowed,
      remaining: Math.max(0, this.options.requests - times.length),
      resetSeconds: Math.max(0, Math.ceil((oldest + this.options.windowMs - now) / 1000)),
    };
  }
}
