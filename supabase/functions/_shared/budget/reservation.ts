/**
 * Per-user budgets (migrations 20251130000004 and 20251130000006): the most
 * a call can cost is reserved in the rate-limit statement, before the LLM is
 * called, and replaced by what it really cost in the statement that stores
 * its trace. Parallel calls queue on the user's day row (and, under a month
 * limit, on an advisory lock of the user's), so the reservations together
 * never pass a limit.
 *
 * The reservation is an upper estimate: the prompt as sent (system, the
 * body's text, and the context the rate-limit statement reads, measured there
 * by public.tokens_upper_estimate) in tokens counted generously
 * (llm/tokens.ts), plus the output limit (LLM_MAX_OUTPUT_TOKENS), priced from
 * the price table.
 */
import { q, type Statement } from '../db/statement.ts';
import { HttpError } from '../http/errors.ts';

/** What public.reserve_budget answers. */
export interface BudgetAnswer {
  ok: boolean;
  plan: string | null;
  /** Refused: which limit. */
  limit?: 'tokens_per_day' | 'cost_usd_per_day' | 'cost_usd_per_month' | 'unpriced_model';
  limit_value?: number;
  used?: number;
  reserved?: number;
  asked?: number;
  resets_at?: string;
  /** Reserved: the windows and amounts, to settle later. */
  day?: string;
  month?: string;
  tokens?: number;
  cost?: number;
  unpriced?: boolean;
  tokens_remaining?: number | null;
  tokens_resets_at?: string;
  cost_remaining?: number | null;
  cost_resets_at?: string;
  policy?: {
    tokens_per_day: number | null;
    cost_usd_per_day: number | null;
    cost_usd_per_month: number | null;
  };
}

/** A reservation held by a call, settled with the call's trace. */
export interface BudgetReservation {
  userId: string;
  day: string;
  month: string;
  tokens: number;
  cost: number;
  /** The model has no price: the reservation counts tokens only. */
  unpriced: boolean;
}

/** What to reserve before the context is known, and what each token of context adds. */
export interface ReservationAsk {
  userId: string;
  /** The prompt without its context, and the output limit. */
  tokens: number;
  /** Their price; null when the model has no price. */
  cost: number | null;
  /** The price of one input token, for the context's; null when the model has no price. */
  costPerInputToken: number | null;
  now: Date;
}

/** The reservation, as a function of the context's text (an SQL expression, maybe null). */
export function reservationExpression(ask: ReservationAsk) {
  return (contextText: Statement): Statement => q`
    public.reserve_budget(
      ${ask.userId}::uuid,
      ${ask.tokens}::bigint + coalesce(public.tokens_upper_estimate(${contextText}), 0),
      ${ask.cost}::numeric
        + ${ask.costPerInputToken}::numeric * coalesce(public.tokens_upper_estimate(${contextText}), 0),
      ${ask.now}::timestamptz
    )
  `;
}

const secondsUntil = (iso: string | undefined, now: Date) =>
  iso ? Math.max(1, Math.ceil((Date.parse(iso) - now.getTime()) / 1000)) : 1;

/** The reservation, or the refusal: 429 budget_exceeded until the window resets. */
export function budgetDecision(
  answer: BudgetAnswer | null | undefined,
  userId: string,
  now: Date,
): BudgetReservation | null {
  if (!answer?.plan) return null;
  if (answer.ok) {
    if (!answer.day || !answer.month) return null;
    return {
      userId,
      day: answer.day,
      month: answer.month,
      tokens: Number(answer.tokens ?? 0),
      cost: Number(answer.cost ?? 0),
      unpriced: answer.unpriced === true,
    };
  }
  if (answer.limit === 'unpriced_model') {
    throw new HttpError(
      503,
      'service_unavailable',
      'The coach cannot be used on this plan right now: the model has no known price.',
      {
        details: { reason: 'UNPRICED_MODEL', plan: answer.plan },
        headers: { 'retry-after': '3600' },
      },
    );
  }
  const retryAfter = secondsUntil(answer.resets_at, now);
  throw new HttpError(
    429,
    'budget_exceeded',
    `This call would pass your plan's ${answer.limit?.replaceAll('_', ' ')} limit.`,
    {
      details: {
        plan: answer.plan,
        limit: answer.limit,
        limitValue: Number(answer.limit_value),
        used: Number(answer.used),
        reserved: Number(answer.reserved),
        asked: Number(answer.asked),
        resetsAt: answer.resets_at,
        retryAfterSeconds: retryAfter,
      },
      headers: { 'retry-after': String(retryAfter) },
    },
  );
}

/**
 * Budget headers in the style of the RateLimit headers (IETF draft-11):
 * `Budget-Policy` names the plan's limits, `Budget` the remaining tokens and
 * USD in the tightest window and the seconds until it resets.
 */
export function budgetHeaders(answer: BudgetAnswer | null | undefined, now: Date) {
  const headers: Record<string, string> = {};
  if (!answer?.ok || !answer.plan || !answer.policy) return headers;
  const { policy } = answer;
  const policies = [
    policy.tokens_per_day != null && `"tokens-day";q=${policy.tokens_per_day};w=86400`,
    policy.cost_usd_per_day != null && `"cost-usd-day";q=${policy.cost_usd_per_day};w=86400`,
    policy.cost_usd_per_month != null &&
      `"cost-usd-month";q=${policy.cost_usd_per_month};w=2592000`,
  ].filter(Boolean);
  if (policies.length === 0) return headers;
  headers['budget-policy'] = policies.join(', ');
  const remaining = [
    answer.tokens_remaining != null &&
      `"tokens";r=${answer.tokens_remaining};t=${secondsUntil(answer.tokens_resets_at, now)}`,
    answer.cost_remaining != null &&
      `"cost-usd";r=${Number(answer.cost_remaining).toFixed(6)};t=${secondsUntil(answer.cost_resets_at, now)}`,
  ].filter(Boolean);
  if (remaining.length > 0) headers.budget = remaining.join(', ');
  headers['budget-plan'] = answer.plan;
  return headers;
}

/**
 * The reservation and what the call used, as a public.budget_settlement for
 * the function that stores the call's trace (record_coach_trace), which
 * replaces the one by the other: one trace per call, so it settles exactly
 * once (the CHECKs on budget_usage would refuse a second time), in the day
 * row it was reserved in (a month is the sum of its days).
 */
export function settlementArgument(
  reservation: BudgetReservation,
  used: { tokens: number; cost: number },
): Statement {
  return q`row(
    ${reservation.userId}::uuid, ${reservation.day}::date, ${reservation.month}::date,
    ${reservation.tokens}::bigint, ${reservation.cost}::numeric,
    ${used.tokens}::bigint, ${used.cost}::numeric
  )::public.budget_settlement`;
}
