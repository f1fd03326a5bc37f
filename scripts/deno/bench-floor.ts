/**
 * Reference servers for `npm run bench`, to show what this machine allows
 * before any of the functions' own work (run by Deno, like the functions):
 *
 *   POST /proxy: forwards the body to the LLM with a plain fetch: the cost of
 *                one more HTTP hop through Deno.
 *   POST /floor: the proxy plus the two statements every coach call sends,
 *                the functions' own SQL as deployed (the rate-limit count with
 *                the budget reservation; the store function's call for the
 *                reply, trace and settlement), pooler-safe like the functions. No auth, no
 *                validation, no SDK, no headers.
 *   POST /floor-no-budget: the same without the budget (no reservation, no
 *                settlement): what budgets cost is /floor minus this.
 *   POST /floor-min-budget: the same with the least any exact budget must
 *                do in those statements: one atomic write of a row of the
 *                user's when it reserves, one when it settles (here the
 *                cheapest counter of the schema, public.check_rate_limit, on
 *                one row a user), with no plan read, no limit checks and no
 *                answer to build. What budgets cannot cost less than.
 *
 * The user of a request is BENCH_USER_IDS[x-bench-client] (comma-separated
 * ids), so concurrent clients do not queue on one user's rows.
 * Prints {"ready":true,"port":...} once listening; exits on SIGTERM or SIGINT
 * (so that BENCH_DENO_CPU_PROF's profile is written).
 */
import postgres from 'postgres';
import {
  budgetDecision,
  reservationExpression,
} from '../../supabase/functions/_shared/budget/reservation.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { storeCall } from '../../supabase/functions/_shared/coach/store-reply.ts';
import { traceArgument, traceSettlement } from '../../supabase/functions/_shared/coach/trace.ts';
import { q, run } from '../../supabase/functions/_shared/db/statement.ts';
import { rateLimitStatement } from '../../supabase/functions/_shared/rate-limit/limiter.ts';

const env = (name: string) => {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const sql = postgres(env('SUPABASE_DB_URL'), { max: 10, prepare: false, onnotice: () => {} });
const llmUrl = `${env('OPENAI_BASE_URL')}/chat/completions`;
const userIds = env('BENCH_USER_IDS').split(',');
const policy = { limit: 100_000_000, windowSeconds: 60 };
const inline = { prepare: false };

async function callLlm(body: string): Promise<{ text: string; usage: unknown }> {
  const res = await fetch(llmUrl, {
    method: 'POST',
    headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
    body,
  });
  const answer = await res.json();
  return { text: answer.choices[0].message.content, usage: answer.usage };
}

type Budget = 'as-deployed' | 'none' | 'minimal';

/** One atomic write of one row of the user's: the least a reservation or a settlement is. */
const minimalBudgetWrite = (userId: string) =>
  q`(select request_count from public.check_rate_limit(${userId}::uuid, 'bench-budget-floor', 86400, now()))`;

async function floor(body: string, userId: string, budget: Budget): Promise<Response> {
  const message = JSON.parse(body).messages.at(-1).content as string;
  const now = new Date();
  const ask = { userId, tokens: 800, cost: 0.0004, costPerInputToken: 1.5e-7, now };
  const reserve =
    budget === 'as-deployed'
      ? reservationExpression(ask)
      : budget === 'minimal'
        ? () => minimalBudgetWrite(userId)
        : null;
  const [limits] = await run<{ budget: unknown }[]>(
    sql,
    rateLimitStatement(userId, 'ai-coach', policy, now, null, null, reserve),
    inline,
  );
  const reservation =
    budget === 'as-deployed' ? budgetDecision(limits?.budget as never, userId, now) : null;
  const started = performance.now();
  const { text } = await callLlm(body);
  const entityId = crypto.randomUUID();
  const traceId = crypto.randomUUID();
  const input = {
    entityId,
    userId,
    body: { message, stream: false },
    reply: text,
    receivedAt: now,
    now: new Date(),
    sessionId: null,
  };
  const trace = {
    traceId,
    entityType: 'ai_coach_message' as const,
    entityId,
    userId,
    input: body,
    output: text,
    tags: ['ai-coach', 'openai'],
    metadata: {
      provider: 'openai' as const,
      model: 'gpt-4o-mini',
      status: 'success' as const,
      latency_ms: Math.round(performance.now() - started),
      time_to_first_token_ms: null,
      input_tokens: 30,
      output_tokens: 30,
      total_tokens: 60,
      cost_usd: 0.0000225,
      usage_source: 'provider' as const,
      stream: false,
      stream_status: null,
      error: null,
      environment: 'bench',
      session_id: null,
      release: null,
      prompt_version: 'bench',
      model_parameters: { max_tokens: 600 },
    },
    settlement: reservation && { reservation, used: { tokens: 60, cost: 0.0000225 } },
  };
  // The minimal budget's settlement is its one write beside the store function's call.
  const stored =
    budget === 'minimal'
      ? q`select stored.id, ${minimalBudgetWrite(userId)} as settled
          from ${aiCoach.store(input).call(traceArgument(trace), traceSettlement(null))} as stored`
      : q`select stored.id from ${storeCall(aiCoach, input, trace)} as stored`;
  await run(sql, stored, inline);
  return Response.json({ reply: text, messageId: entityId, traceId });
}

const floorBudgets: Record<string, Budget> = {
  '/floor': 'as-deployed',
  '/floor-no-budget': 'none',
  '/floor-min-budget': 'minimal',
};

Deno.serve(
  {
    hostname: '127.0.0.1',
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ ready: true, port })),
  },
  async (req) => {
    const { pathname } = new URL(req.url);
    const body = await req.text();
    if (pathname === '/proxy') return Response.json(await callLlm(body));
    const budget = floorBudgets[pathname];
    if (budget) {
      const client = Number(req.headers.get('x-bench-client') ?? 0);
      return floor(body, userIds[client % userIds.length] as string, budget);
    }
    return new Response('not found', { status: 404 });
  },
);

// An exit, not a kill: Deno writes its --cpu-prof profile on exit.
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  Deno.addSignalListener(signal, () => Deno.exit(0));
