/**
 * The two statements of an ai-coach call, as the functions send them (the
 * rate-limit count with the budget's reservation; the store function's call
 * for reply, trace and settlement), with the budget as deployed, without a
 * budget, or with only the least an exact budget must write: one row of the
 * user's when it reserves and again when it settles (here the cheapest
 * counter of the schema, public.check_rate_limit, on one row a user), with no
 * plan read, no limit checks and no answer to build.
 *
 * For the benchmark's floor server (Deno) and its budget-cpu part (Node):
 * project modules only, no runtime's own.
 */
import {
  budgetDecision,
  reservationExpression,
} from '../../supabase/functions/_shared/budget/reservation.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import {
  type TraceRecord,
  traceArgument,
  traceSettlement,
} from '../../supabase/functions/_shared/coach/trace.ts';
import { q, type Statement } from '../../supabase/functions/_shared/db/statement.ts';
import { rateLimitStatement } from '../../supabase/functions/_shared/rate-limit/limiter.ts';

export const BUDGET_VARIANTS = ['as-deployed', 'none', 'minimal'] as const;
export type BudgetVariant = (typeof BUDGET_VARIANTS)[number];

const POLICY = { limit: 100_000_000, windowSeconds: 60 };
const USED = { tokens: 60, cost: 0.0000225 };

/** One atomic write of one row of the user's: the least a reservation or a settlement is. */
const minimalBudgetWrite = (userId: string) =>
  q`(select request_count from public.check_rate_limit(${userId}::uuid, 'bench-budget-floor', 86400, now()))`;

export function countStatement(userId: string, now: Date, budget: BudgetVariant): Statement {
  const ask = { userId, tokens: 800, cost: 0.0004, costPerInputToken: 1.5e-7, now };
  const reserve =
    budget === 'as-deployed'
      ? reservationExpression(ask)
      : budget === 'minimal'
        ? () => minimalBudgetWrite(userId)
        : null;
  return rateLimitStatement(userId, 'ai-coach', POLICY, now, null, null, reserve);
}

export interface StoredCall {
  userId: string;
  message: string;
  reply: string;
  receivedAt: Date;
  latencyMs: number;
  /** What the count statement answered as `budget`. */
  budgetAnswer: unknown;
}

export function storeStatement(call: StoredCall, budget: BudgetVariant): Statement {
  const { userId } = call;
  const entityId = crypto.randomUUID();
  const input = {
    entityId,
    userId,
    body: { message: call.message, stream: false },
    reply: call.reply,
    receivedAt: call.receivedAt,
    now: new Date(),
    sessionId: null,
  };
  const reservation =
    budget === 'as-deployed'
      ? budgetDecision(call.budgetAnswer as never, userId, call.receivedAt)
      : null;
  const trace: TraceRecord = {
    traceId: crypto.randomUUID(),
    entityType: 'ai_coach_message',
    entityId,
    userId,
    input: call.message,
    output: call.reply,
    tags: ['ai-coach', 'openai'],
    metadata: {
      provider: 'openai',
      model: 'gpt-4o-mini',
      status: 'success',
      latency_ms: call.latencyMs,
      time_to_first_token_ms: null,
      input_tokens: 30,
      output_tokens: 30,
      total_tokens: USED.tokens,
      cost_usd: USED.cost,
      usage_source: 'provider',
      stream: false,
      stream_status: null,
      error: null,
      environment: 'bench',
      session_id: null,
      release: null,
      prompt_version: 'bench',
      model_parameters: { max_tokens: 600 },
    },
    settlement: reservation && { reservation, used: USED },
  };
  const storage = aiCoach.store(input);
  // The minimal budget's settlement is its one write beside the store function's call.
  return budget === 'minimal'
    ? q`select stored.id, ${minimalBudgetWrite(userId)} as settled
        from ${storage.call(traceArgument(trace), traceSettlement(null))} as stored`
    : q`select stored.id from ${storage.call(traceArgument(trace), traceSettlement(trace))} as stored`;
}
