/**
 * Langfuse Cloud's rate limiter, as web/src/features/public-api/server/
 * RateLimitService.ts does it at commit 62751446 (off unless the server is
 * started with `limits`, as Langfuse applies limits only on Cloud):
 *
 *  - one counter per organisation and resource bucket (all keys of the local
 *    project share it); each request to a limited route consumes one point;
 *  - rate-limiter-flexible's (^5.0.4) fixed window, lib/RateLimiterRedis.js:
 *    `SET key 0 EX duration NX`, `INCRBY`, `PTTL`: the first point starts a
 *    window of `durationInSec`, later points do not extend it (the docs page
 *    faq/all/api-limits.mdx says the same); remainingPoints =
 *    max(points - consumed, 0), msBeforeNext = the key's PTTL;
 *  - `isRateLimited()` is `remainingPoints < 1`, so the request that takes
 *    the last point is refused too: with 30 points, 29 requests pass per window;
 *  - the 429: headers from createHttpHeaderFromRateLimit, body from
 *    unstable-public-api-error-contract.ts createUnstablePublicApiRateLimitError.
 *
 * Which route charges which bucket: the `rateLimitResource` of each route
 * (default "public-api"), see `rateLimitedRoute` below.
 */
import type { ServerClock } from './server-clock.ts';

/** The buckets of packages/shared/src/interfaces/rate-limits.ts the local routes charge. */
export type RateLimitResource = 'ingestion' | 'public-api' | 'public-api-legacy' | 'score-delete';
export type CloudPlan =
  | 'cloud:hobby'
  | 'cloud:core'
  | 'cloud:pro'
  | 'cloud:team'
  | 'cloud:enterprise';
/** RateLimitConfig: no points or no duration means no limit. */
export interface RateLimitConfig {
  points: number | null;
  durationInSec: number | null;
}
export interface RateLimitOptions {
  /** getPlanBasedRateLimitConfig's table for this plan. */
  plan?: CloudPlan;
  /** The API key scope's `rateLimitOverrides`: they replace the plan's config per bucket. */
  overrides?: Partial<Record<RateLimitResource, RateLimitConfig>>;
}

const perMinute = (points: number) => ({ points, durationInSec: 60 });
const perDay = (points: number) => ({ points, durationInSec: 86_400 });
/** RateLimitService.getPlanBasedRateLimitConfig (core carries pro's values "temporarily" there). */
const HOBBY = {
  ingestion: perMinute(1000),
  'public-api': perMinute(30),
  'public-api-legacy': perMinute(15),
  'score-delete': perDay(50),
};
const CORE = {
  ingestion: perMinute(20_000),
  'public-api': perMinute(1000),
  'public-api-legacy': perMinute(30),
  'score-delete': perDay(200),
};
const PRO = {
  ingestion: perMinute(20_000),
  'public-api': perMinute(1000),
  'public-api-legacy': perMinute(100),
  'score-delete': perDay(1000),
};
const PLAN_LIMITS: Record<CloudPlan, Record<RateLimitResource, RateLimitConfig>> = {
  'cloud:hobby': HOBBY,
  'cloud:core': CORE,
  'cloud:pro': PRO,
  'cloud:team': PRO,
  'cloud:enterprise': PRO,
};

/** rateLimitUpgradePaths.ts legacyPublicApiRateLimitUpgradePaths: named in the 429 message. */
const UPGRADE_PATHS = {
  traces: {
    legacyEndpoint: 'GET /api/public/traces/{traceId}',
    replacementEndpoint:
      'GET /api/public/v2/observations?traceId={traceId}&fromStartTime=<from>&toStartTime=<to>',
  },
  sessions: {
    legacyEndpoint: 'GET /api/public/sessions/{sessionId}',
    replacementEndpoint:
      'GET /api/public/v2/observations?filter=<urlencoded sessionId filter>&fromStartTime=<from>&toStartTime=<to>',
  },
};

export interface LimitedRoute {
  resource: RateLimitResource;
  upgradePath?: { legacyEndpoint: string; replacementEndpoint: string };
}

/**
 * The bucket a request charges, for the routes the local server serves, or
 * undefined (no limit; or a method the route has no handler for, which
 * withMiddlewares refuses with 405 before the limiter runs).
 */
export function rateLimitedRoute(method: string, path: string): LimitedRoute | undefined {
  if (path === '/api/public/ingestion' || path === '/api/public/otel/v1/traces') {
    return method === 'POST' ? { resource: 'ingestion' } : undefined;
  }
  const legacy = /^\/api\/public\/(traces|sessions)\/[^/]+$/.exec(path)?.[1] as
    | 'traces'
    | 'sessions'
    | undefined;
  if (legacy) {
    return method === 'GET'
      ? { resource: 'public-api-legacy', upgradePath: UPGRADE_PATHS[legacy] }
      : undefined;
  }
  if (/^\/api\/public\/scores\/[^/]+$/.test(path)) {
    if (method === 'DELETE') return { resource: 'score-delete' };
    return method === 'GET' ? { resource: 'public-api' } : undefined;
  }
  if (path === '/api/public/scores') {
    return method === 'GET' || method === 'POST' ? { resource: 'public-api' } : undefined;
  }
  const reads = /^\/api\/public\/(v2\/scores(\/[^/]+)?|v3\/scores|v2\/observations)$/;
  return method === 'GET' && reads.test(path) ? { resource: 'public-api' } : undefined;
}

/** RateLimitResult (rate-limits.ts) without the scope. */
export interface RateLimitResult {
  resource: RateLimitResource;
  points: number;
  remainingPoints: number;
  msBeforeNext: number;
  consumedPoints: number;
  isFirstInDuration: boolean;
}

export class RateLimiter {
  private readonly windows = new Map<RateLimitResource, { consumed: number; endsAt: number }>();

  constructor(
    private readonly options: RateLimitOptions | undefined,
    private readonly clock: ServerClock,
  ) {}

  get enabled(): boolean {
    return this.options !== undefined;
  }

  /** getRateLimitConfig: the override for the bucket, else the plan's. */
  config(resource: RateLimitResource): RateLimitConfig | undefined {
    return (
      this.options?.overrides?.[resource] ??
      (this.options?.plan ? PLAN_LIMITS[this.options.plan][resource] : undefined)
    );
  }

  /** checkRateLimit: consume one point; undefined when the bucket has no limit. */
  consume(resource: RateLimitResource): RateLimitResult | undefined {
    const config = this.config(resource);
    if (!config?.points || !config.durationInSec) return undefined;
    const now = this.clock.now();
    let window = this.windows.get(resource);
    if (!window || now >= window.endsAt) {
      window = { consumed: 0, endsAt: now + config.durationInSec * 1000 };
      this.windows.set(resource, window);
    }
    window.consumed += 1;
    return {
      resource,
      points: config.points,
      remainingPoints: Math.max(config.points - window.consumed, 0),
      msBeforeNext: window.endsAt - now,
      consumedPoints: window.consumed,
      isFirstInDuration: window.consumed === 1,
    };
  }

  /** Forgets every window (a fresh Redis). */
  reset(): void {
    this.windows.clear();
  }
}

/** RateLimitHelper.isRateLimited. */
export const isRateLimited = (result: RateLimitResult | undefined): result is RateLimitResult =>
  result !== undefined && result.remainingPoints < 1;

/** sendRateLimitResponse: the headers and the body of Langfuse's 429. */
export function rateLimitAnswer(result: RateLimitResult, route: LimitedRoute, now: number) {
  const retryAfterSeconds = Math.ceil(result.msBeforeNext / 1000);
  const resetAt = new Date(now + result.msBeforeNext);
  const message = route.upgradePath
    ? `Rate limit exceeded for ${route.upgradePath.legacyEndpoint}. Use ${route.upgradePath.replacementEndpoint} for high-volume reads.`
    : 'Rate limit exceeded';
  return {
    status: 429,
    headers: {
      'retry-after': String(retryAfterSeconds),
      'x-ratelimit-limit': String(result.points),
      'x-ratelimit-remaining': String(result.remainingPoints),
      // createHttpHeaderFromRateLimit: Date#toString, in the server's time zone.
      'x-ratelimit-reset': resetAt.toString(),
    },
    body: {
      message,
      code: 'rate_limited',
      details: {
        retryAfterSeconds,
        limit: result.points,
        remaining: Math.max(0, result.remainingPoints),
        resetAt: resetAt.toISOString(),
      },
    },
  };
}
