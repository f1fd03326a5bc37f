/**
 * Counting a request against its endpoint's limit, for every function that
 * limits: one statement, within the database deadline. Over the limit: 429
 * (and nothing is paid for). A user who does not exist: 401 USER_NOT_FOUND,
 * before any precondition. A precondition the database refuses: that
 * refusal (400 or 404), and nothing is counted. The limiter unreachable or too
 * slow: 503 in fail mode `closed`; in `open`, the request goes on unlimited.
 */
import type { Sql } from 'postgres';
import type { RateLimitPolicy } from '../config.ts';
import { withinDeadline } from '../db/deadline.ts';
import { q, run, type Statement } from '../db/statement.ts';
import {
  describeError,
  HttpError,
  isUnknownUser,
  serviceUnavailable,
  unknownUser,
} from '../http/errors.ts';
import type { Logger } from '../log.ts';
import {
  type RateLimitDecision,
  type RateLimitRow,
  rateLimitDecision,
  rateLimitHeaders,
  rateLimitStatement,
} from './limiter.ts';

export interface LimiterDeps {
  sql: Sql;
  log: Logger;
  failMode: 'open' | 'closed';
  /** DB_TIMEOUT_MS */
  timeoutMs: number;
  /** DB_PREPARE: prepared statements, or values inline (one round trip through a pooler). */
  prepare: boolean;
}

export interface CountedRequest {
  endpoint: string;
  userId: string;
  policy: RateLimitPolicy;
  now: Date;
  /** Read in the same statement when the request is within the limit. */
  context?: Statement | null;
  precondition?: { check: Statement; refusal: HttpError } | null;
  /** The budget reservation to make within the limit, from the context's text (budget/reservation.ts). */
  reservation?: ((contextText: Statement) => Statement) | null;
}

export async function countRequest(
  deps: LimiterDeps,
  request: CountedRequest,
): Promise<{ headers: Record<string, string>; context: unknown; budget: unknown }> {
  const { endpoint, userId, policy, now } = request;
  const context = request.context ?? null;
  let decision: RateLimitDecision;
  let row: RateLimitRow | undefined;
  try {
    const statement = rateLimitStatement(
      userId,
      endpoint,
      policy,
      now,
      context,
      request.precondition?.check ?? null,
      request.reservation ?? null,
    );
    [row] = await withinDeadline(
      deps.sql,
      () => run<RateLimitRow[]>(deps.sql, statement, deps),
      deps.timeoutMs,
      'rate limit',
    );
    if (row?.known === false) throw unknownUser();
    if (row?.passed === false && request.precondition) throw request.precondition.refusal;
    decision = rateLimitDecision(row, endpoint, policy, now);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    if (isUnknownUser(error)) throw unknownUser();
    deps.log({
      level: 'warn',
      msg: 'rate limit check failed',
      endpoint,
      failMode: deps.failMode,
      error: describeError(error),
    });
    if (deps.failMode === 'closed') {
      throw serviceUnavailable('The rate limiter is unavailable. Please try again shortly.');
    }
    // Open: the request goes on unlimited, and its context is read alone.
    // A budget cannot be held without the database either: the call goes on without one.
    if (!context) return { headers: {}, context: null, budget: null };
    const [alone] = await withinDeadline(
      deps.sql,
      () => run<{ context: unknown }[]>(deps.sql, q`select ${context} as context`, deps),
      deps.timeoutMs,
      'prompt context',
    );
    return { headers: {}, context: alone?.context ?? null, budget: null };
  }
  const headers = rateLimitHeaders(decision);
  if (!decision.allowed) {
    throw new HttpError(
      429,
      'rate_limited',
      `Too many requests to ${endpoint}: the limit is ${policy.limit} per ${policy.windowSeconds} seconds.`,
      {
        details: {
          limit: policy.limit,
          windowSeconds: policy.windowSeconds,
          retryAfterSeconds: decision.resetSeconds,
        },
        headers,
      },
    );
  }
  return { headers, context: row?.context ?? null, budget: row?.budget ?? null };
}
