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
 *
 * The statements are scripts/lib/coach-statements.ts's.
 *
 * The user of a request is BENCH_USER_IDS[x-bench-client] (comma-separated
 * ids), so concurrent clients do not queue on one user's rows.
 * Prints {"ready":true,"port":...} once listening; exits on SIGTERM or SIGINT
 * (so that BENCH_DENO_CPU_PROF's profile is written).
 */
import postgres from 'postgres';
import { run } from '../../supabase/functions/_shared/db/statement.ts';
import { type BudgetVariant, countStatement, storeStatement } from '../lib/coach-statements.ts';

const env = (name: string) => {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const sql = postgres(env('SUPABASE_DB_URL'), { max: 10, prepare: false, onnotice: () => {} });
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

async function floor(body: string, userId: string, budget: BudgetVariant): Promise<Response> {
  const message = JSON.parse(body).messages.at(-1).content as string;
  const receivedAt = new Date();
  const [counted] = await run<{ budget: unknown }[]>(
    sql,
    countStatement(userId, receivedAt, budget),
    inline,
  );
  const started = performance.now();
  const { text } = await callLlm(body);
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

const floorBudgets: Record<string, BudgetVariant> = {
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
