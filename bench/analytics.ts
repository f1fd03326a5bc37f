/**
 * The analytics part of `npm run bench`, over 1,000,000 generated traces
 * (5,000 users, 180 days, three models, 2% errors): the daily-usage query for
 * the last 30 days and one user's monthly cost (targets: under 100 ms each),
 * and cleanup throughput.
 */
import type { Sql } from 'postgres';
import { ensureUsers } from '../local/tooling/users.ts';

export interface AnalyticsBench {
  traces: number;
  generateSeconds: number;
  dailyUsage30dMs: { p50: number; max: number; rows: number };
  userMonthlyCostMs: { p50: number; max: number; rows: number };
  rollup: { traces: number; seconds: number; rowsPerSecond: number };
  cleanup: { deleted: number; seconds: number; rowsPerSecond: number };
}

async function timeQuery(
  run: () => PromiseLike<readonly unknown[]>,
  times = 7,
): Promise<{ p50: number; max: number; rows: number }> {
  const samples: number[] = [];
  let rows = 0;
  for (let i = 0; i < times; i += 1) {
    const started = performance.now();
    rows = (await run()).length;
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    p50: round(samples[Math.floor(samples.length / 2)] as number),
    max: round(samples.at(-1) as number),
    rows,
  };
}

export async function benchAnalytics(sql: Sql, traces = 1_000_000): Promise<AnalyticsBench> {
  const started = performance.now();
  await ensureUsers(
    sql,
    Array.from({ length: 5000 }, (_, i) => `analytics-${i + 1}@example.com`),
  );
  await sql`
    with users as (
      select array_agg(id) as ids from auth.users where email like 'analytics-%'
    )
    insert into public.langfuse_traces
      (trace_id, entity_type, entity_id, user_id, input, output, created_at, provider, model, status, error,
       latency_ms, input_tokens, output_tokens, total_tokens, cost_usd, usage_source)
    select gen_random_uuid(),
           (array['ai_coach_message', 'encouragement_message', 'reflection', 'daily_status'])[(1 + n % 4)::integer],
           gen_random_uuid(),
           users.ids[(1 + (n * 7919) % 5000)::integer],
           'prompt', 'reply',
           now() - make_interval(secs => (n * 15552000 / ${traces})),
           'openai',
           (array['gpt-4o-mini', 'gpt-4.1-mini', 'my-local-llama'])[(1 + n % 3)::integer],
           case when n % 50 = 0 then 'error' else 'success' end,
           case when n % 50 = 0 then 'timeout: the model took too long' end,
           200 + (n * 37) % 1800,
           90 + n % 60, 30 + n % 40, 120 + n % 60 + n % 40,
           case when n % 3 = 2 then null else ((90 + n % 60) * 0.15 + (30 + n % 40) * 0.6) / 1e6 end,
           'provider'
    from generate_series(1::bigint, ${traces}) n, users
  `;
  const generateSeconds = Math.round((performance.now() - started) / 100) / 10;

  // The sync folds new traces into the rollup; here all million at once, in its batches.
  const rollupStarted = performance.now();
  let rolledUp = 0;
  for (;;) {
    const [row] = await sql<{ n: number }[]>`select public.roll_up_usage(10000) as n`;
    rolledUp += row?.n ?? 0;
    if (!row?.n) break;
  }
  const rollupSeconds = (performance.now() - rollupStarted) / 1000;
  // After a bulk load, as autovacuum would: statistics, and a visibility map for index-only scans.
  await sql`vacuum analyze public.langfuse_traces`;
  await sql`vacuum analyze public.usage_daily`;

  const dailyUsage30dMs = await timeQuery(
    () =>
      sql`select * from public.daily_usage_rollup where day >= (now() at time zone 'UTC')::date - 30`,
  );
  const [someone] = await sql<
    { user_id: string }[]
  >`select user_id from public.langfuse_traces limit 1`;
  const userMonthlyCostMs = await timeQuery(
    () => sql`
      select * from public.monthly_user_costs
      where user_id = ${someone?.user_id ?? ''} and month = date_trunc('month', now() at time zone 'UTC')::date
    `,
  );

  const cleanupStarted = performance.now();
  let deleted = 0;
  for (;;) {
    const [row] = await sql<{ n: number }[]>`select public.cleanup_old_traces(150, 5000) as n`;
    deleted += row?.n ?? 0;
    if (!row?.n) break;
  }
  const seconds = (performance.now() - cleanupStarted) / 1000;
  return {
    traces,
    generateSeconds,
    dailyUsage30dMs,
    userMonthlyCostMs,
    rollup: {
      traces: rolledUp,
      seconds: Math.round(rollupSeconds * 10) / 10,
      rowsPerSecond: Math.round(rolledUp / rollupSeconds),
    },
    cleanup: {
      deleted,
      seconds: Math.round(seconds * 10) / 10,
      rowsPerSecond: Math.round(deleted / seconds),
    },
  };
}
