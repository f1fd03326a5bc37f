/**
 * Per user and endpoint rate limiting over public.check_rate_limit(): one
 * round trip that counts the request atomically and returns the window's
 * count. This module builds that statement, decides, and builds the headers.
 *
 * Headers: IETF draft-11 `RateLimit-Policy` and `RateLimit`, plus the common
 * `X-RateLimit-Limit/Remaining/Reset` (Reset in epoch seconds, as GitHub and
 * others use it) and, on 429, `Retry-After` in seconds.
 */
import type { RateLimitPolicy } from '../config.ts';
import { q, type Statement } from '../db/statement.ts';

export interface RateLimitDecision {
  allowed: boolean;
  policy: RateLimitPolicy;
  /** The name the policy is published under: the endpoint. */
  name: string;
  count: number;
  remaining: number;
  windowEnd: Date;
  /** Whole seconds until the window ends, at least 1. */
  resetSeconds: number;
}

/**
 * What check_rate_limit returns, and the context read beside it when one was
 * asked for. With a precondition, `passed` says whether it held; when it did
 * not, nothing was counted and the count columns are null.
 */
export interface RateLimitRow {
  request_count: number;
  window_end: Date;
  context?: unknown;
  passed?: boolean;
  /** With a precondition: whether the token's user exists (checked first, so it answers first). */
  known?: boolean;
  /** public.reserve_budget's answer, when a reservation was asked for. */
  budget?: unknown;
}

/**
 * The statement that counts one request, as a q`` statement, so a caller can read
 * what it needs next in the same round trip: `context`, an SQL expression,
 * comes back as the `context` column, evaluated only when the request is
 * within the limit (a CASE branch not taken runs nothing).
 *
 * `reservation` builds the budget's reservation (public.reserve_budget) from
 * the context's text, so it can reserve for the prompt the context makes; it
 * comes back as `budget`, evaluated like the context only within the limit.
 *
 * `precondition`, an SQL boolean, is what the database must agree to before
 * the request counts at all (daily-status: the date is one of the user's
 * recent days). It is evaluated first, once (a materialized CTE read through
 * an InitPlan, which gates the counting scan as a one-time filter): when it
 * is false nothing is counted, and the row says `passed = false`. The gate
 * also says whether the user exists (`known`), so a deleted user is told so
 * before any precondition (without one, the counter's foreign key says it).
 */
export function rateLimitStatement(
  userId: string,
  endpoint: string,
  policy: RateLimitPolicy,
  now: Date,
  context: Statement | null = null,
  precondition: Statement | null = null,
  reservation: ((contextText: Statement) => Statement) | null = null,
): Statement {
  const within = (expression: Statement) =>
    q`case when limits.request_count <= ${policy.limit} then ${expression} end`;
  const columns = q`
    ${context ? q`, ctx.context` : q.empty}
    ${reservation ? q`, ${within(reservation(context ? q`ctx.context::text` : q`null::text`))} as budget` : q.empty}
  `;
  const contextRead = context ? q`, lateral (select ${within(context)} as context) ctx` : q.empty;
  // A counter is not worth a WAL flush: with synchronous_commit off for this
  // one-statement transaction, a crash can forget the last few increments,
  // and the request does not wait for the disk.
  const counting = q`
    from set_config('synchronous_commit', 'off', true),
      public.check_rate_limit(${userId}::uuid, ${endpoint}::text, ${policy.windowSeconds}::integer, ${now}::timestamptz) as limits
      ${contextRead}
  `;
  if (!precondition) {
    return q`select limits.request_count, limits.window_end ${columns} ${counting}`;
  }
  return q`
    with gate as materialized (
      select exists (select 1 from auth.users u where u.id = ${userId}::uuid) as known,
        coalesce((${precondition}), false) as passed
    ),
    counted as (
      select limits.request_count, limits.window_end ${columns} ${counting}
      where (select known and passed from gate)
    )
    select gate.known, gate.passed, counted.* from gate left join counted on true
  `;
}

export function rateLimitDecision(
  row: RateLimitRow | undefined,
  endpoint: string,
  policy: RateLimitPolicy,
  now: Date,
): RateLimitDecision {
  if (!row) throw new Error('check_rate_limit returned no row');
  const resetSeconds = Math.max(1, Math.ceil((row.window_end.getTime() - now.getTime()) / 1000));
  return {
    allowed: row.request_count <= policy.limit,
    policy,
    name: endpoint,
    count: row.request_count,
    remaining: Math.max(0, policy.limit - row.request_count),
    windowEnd: row.window_end,
    resetSeconds,
  };
}

export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'ratelimit-policy': `"${decision.name}";q=${decision.policy.limit};w=${decision.policy.windowSeconds}`,
    ratelimit: `"${decision.name}";r=${decision.remaining};t=${decision.resetSeconds}`,
    'x-ratelimit-limit': String(decision.policy.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(Math.ceil(decision.windowEnd.getTime() / 1000)),
  };
  if (!decision.allowed) headers['retry-after'] = String(decision.resetSeconds);
  return headers;
}
