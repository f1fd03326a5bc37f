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
 *                user's when it reserves, one when it settles. What budgets
 *                cannot cost less than.
 *   POST /floor-sdk: /floor with the LLM called as the functions call it:
 *                the official OpenAI SDK with the functions' retries and
 *                deadline around it (_shared/llm/provider.ts) and their
 *                system prompt. What the SDK costs is this minus /floor.
 *
 * The statements are bench/lib/coach-statements.ts's.
 *
 * The user of a request is BENCH_USER_IDS[x-bench-client] (comma-separated
 * ids), so concurrent clients do not queue on one user's rows.
 * Prints {"ready":true,"port":...} once listening; exits on SIGTERM or SIGINT
 * (so that BENCH_DENO_CPU_PROF's profile is written).
 */
import postgres from 'postgres';
import { SYSTEM_PROMPTS } from '../../supabase/functions/_shared/coach/prompts.ts';
import { EnvSchema } from '../../supabase/functions/_shared/config.ts';
import { run } from '../../supabase/functions/_shared/db/statement.ts';
import { createLlmProvider } from '../../supabase/functions/_shared/llm/provider.ts';
import type { ChatMessage } from '../../supabase/functions/_shared/llm/types.ts';
import { type BudgetVariant, countStatement, storeStatement } from '../lib/coach-statements.ts';

const env = (name: string) => {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
// The functions' pool size (DB_POOL_MAX, their default when unset): a pool is
// a deployment setting, not the functions' own work, so the floor shares it.
const poolMax = EnvSchema.shape.DB_POOL_MAX.parse(Deno.env.get('DB_POOL_MAX'));
const sql = postgres(env('SUPABASE_DB_URL'), { max: poolMax, prepare: false, onnotice: () => {} });
const llmUrl = `${env('OPENAI_BASE_URL')}/chat/completions`;
const userIds = env('BENCH_USER_IDS').split(',');
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

const sdk = createLlmProvider({
  provider: 'openai',
  apiKey: 'bench',
  baseUrl: env('OPENAI_BASE_URL'),
  model: 'gpt-4o-mini',
  timeoutMs: 30_000,
  deadlineMs: 60_000,
  maxRetries: 0,
  maxOutputTokens: 600,
});

async function callSdk(body: string, signal: AbortSignal): Promise<{ text: string }> {
  const { model, messages } = JSON.parse(body) as { model: string; messages: ChatMessage[] };
  const system = SYSTEM_PROMPTS.ai_coach_message;
  return sdk.complete({ system, messages, model, maxOutputTokens: 600, signal });
}

type LlmCall = 'fetch' | 'sdk';

async function floor(req: Request, userId: string, budget: BudgetVariant, llm: LlmCall) {
  const body = await req.text();
  const message = JSON.parse(body).messages.at(-1).content as string;
  const receivedAt = new Date();
  const [counted] = await run<{ budget: unknown }[]>(
    sql,
    countStatement(userId, receivedAt, budget),
    inline,
  );
  const started = performance.now();
  const { text } = llm === 'sdk' ? await callSdk(body, req.signal) : await callLlm(body);
  const call = {
    userId,
    message,
    reply: text,
    receivedAt,
    latencyMs: Math.round(performance.now() - started),
    budgetAnswer: counted?.budget,
  };
  const [stored] = await run<{ id: string }[]>(sql, storeStatement(call, budget), inline);
  return Response.json({ reply: text, messageId: stored?.id });
}

const floors: Record<string, { budget: BudgetVariant; llm: LlmCall }> = {
  '/floor': { budget: 'as-deployed', llm: 'fetch' },
  '/floor-no-budget': { budget: 'none', llm: 'fetch' },
  '/floor-min-budget': { budget: 'minimal', llm: 'fetch' },
  '/floor-sdk': { budget: 'as-deployed', llm: 'sdk' },
};

Deno.serve(
  {
    hostname: '127.0.0.1',
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ ready: true, port })),
  },
  async (req) => {
    const { pathname } = new URL(req.url);
    if (pathname === '/proxy') return Response.json(await callLlm(await req.text()));
    const route = floors[pathname];
    if (route) {
      const client = Number(req.headers.get('x-bench-client') ?? 0);
      return floor(req, userIds[client % userIds.length] as string, route.budget, route.llm);
    }
    return new Response('not found', { status: 404 });
  },
);

// An exit, not a kill: Deno writes its --cpu-prof profile on exit.
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  Deno.addSignalListener(signal, () => Deno.exit(0));
