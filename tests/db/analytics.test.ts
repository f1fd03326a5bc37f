/**
 * Usage analytics and retention, on a hand-made fixture with numbers worked
 * out by hand: the views' counts, percentiles and costs, RLS through the
 * views, and batch-wise retention that keeps traces with pending scores.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetention } from '../../scripts/lib/retention.ts';
import { asUser } from '../../supabase/functions/_shared/db/as-user.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let alice: TestUser;
let bob: TestUser;

interface FixtureTrace {
  user: string;
  at: string;
  entity?: string;
  provider?: string;
  model: string;
  status: 'success' | 'error';
  latency: number;
  tokens?: [number, number];
  cost?: number | null;
  error?: string;
}

async function insertTrace(t: FixtureTrace): Promise<string> {
  const traceId = randomUUID();
  await db.sql`
    insert into public.langfuse_traces
      (trace_id, entity_type, entity_id, user_id, input, output, created_at, provider, model, status, error,
       latency_ms, input_tokens, output_tokens, total_tokens, cost_usd, usage_source)
    values (${traceId}, ${t.entity ?? 'ai_coach_message'}, ${randomUUID()}, ${t.user}, 'in', 'out', ${t.at},
            ${t.provider ?? 'openai'}, ${t.model}, ${t.status}, ${t.error ?? null}, ${t.latency},
            ${t.tokens?.[0] ?? null}, ${t.tokens?.[1] ?? null}, ${t.tokens ? t.tokens[0] + t.tokens[1] : null},
            ${t.cost ?? null}, ${t.tokens ? 'provider' : 'missing'})
  `;
  return traceId;
}

beforeAll(async () => {
  db = await createTestDatabase();
  alice = await insertUser(db.sql);
  bob = await insertUser(db.sql);
  for (const [i, latency] of [100, 200, 300, 400].entries()) {
    await insertTrace({
      user: alice.id,
      at: `2026-09-01T0${i}:00:00Z`,
      model: 'gpt-4o-mini',
      status: 'success',
      latency,
      tokens: [10, 5],
      cost: 0.001,
    });
  }
  await insertTrace({
    user: bob.id,
    at: '2026-09-01T05:00:00Z',
    model: 'gpt-4o-mini',
    status: 'error',
    latency: 1000,
    error: 'timeout: took too long',
  });
  await insertTrace({
    user: bob.id,
    at: '2026-09-01T06:00:00Z',
    model: 'gpt-4o-mini',
    status: 'error',
    latency: 20,
    error: 'upstream: HTTP 500',
  });
  await insertTrace({
    user: alice.id,
    at: '2026-09-02T10:00:00Z',
    entity: 'reflection',
    provider: 'anthropic',
    model: 'my-claude',
    status: 'success',
    latency: 50,
    tokens: [7, 3],
    cost: null,
  });
});
afterAll(() => db?.drop());

describe('daily_usage', () => {
  it('has exact counts, percentiles, tokens, costs and unique users', async () => {
    const rows = await db.sql`select * from public.daily_usage order by day, model`;
    expect(rows).toHaveLength(2);
    const [first, second] = rows;
    expect(first).toMatchObject({
      entity_type: 'ai_coach_message',
      model: 'gpt-4o-mini',
      requests: 6,
      successes: 4,
      errors: 2,
      input_tokens: '40',
      output_tokens: '20',
      total_tokens: '60',
      unpriced_requests: 2,
      unique_users: 2,
    });
    expect(first?.day.toISOString().slice(0, 10)).toBe('2026-09-01');
    // latencies 20, 100, 200, 300, 400, 1000
    expect(Number(first?.avg_latency_ms)).toBe(336.7);
    expect(first?.p50_latency_ms).toBe(250);
    // percentile_cont interpolates: position 0.95 * 5 = 4.75 lies between 400 and 1000.
    expect(first?.p95_latency_ms).toBeCloseTo(400 + 0.75 * 600, 9);
    expect(first?.p99_latency_ms).toBeCloseTo(400 + 0.95 * 600, 9);
    expect(Number(first?.cost_usd)).toBeCloseTo(0.004, 12);
    expect(second).toMatchObject({
      model: 'my-claude',
      entity_type: 'reflection',
      requests: 1,
      unpriced_requests: 1,
      unique_users: 1,
    });
    expect(Number(second?.cost_usd)).toBe(0);
  });
});

describe('daily_usage_rollup', () => {
  it('matches the exact view in counts, tokens, costs and users, with percentiles within a bucket', async () => {
    const [rolled] = await db.sql`select public.roll_up_usage() as n`;
    expect(rolled?.n).toBe(7);
    const exact = await db.sql`select * from public.daily_usage order by day, model`;
    const rollup = await db.sql`select * from public.daily_usage_rollup order by day, model`;
    expect(rollup).toHaveLength(exact.length);
    for (const [index, row] of exact.entries()) {
      const fast = rollup[index];
      for (const column of [
        'day',
        'entity_type',
        'model',
        'requests',
        'successes',
        'errors',
        'input_tokens',
        'output_tokens',
        'total_tokens',
        'unpriced_requests',
        'unique_users',
      ]) {
        expect(fast?.[column], column).toEqual(row[column]);
      }
      expect(Number(fast?.cost_usd)).toBeCloseTo(Number(row.cost_usd), 12);
      expect(Number(fast?.avg_latency_ms)).toBe(Number(row.avg_latency_ms));
    }
    // Exact p50 of 20, 100, 200, 300, 400, 1000 is 250; from the buckets it is within one of them.
    expect(rollup[0]?.p50_latency_ms).toBeGreaterThanOrEqual(150);
    expect(rollup[0]?.p50_latency_ms).toBeLessThanOrEqual(300);
    expect(rollup[0]?.p99_latency_ms).toBeGreaterThan(750);
    expect(rollup[0]?.p99_latency_ms).toBeLessThanOrEqual(1000);
  });

  it('folds new traces in batches, survives retention, and is for the service role', async () => {
    const user = await insertUser(db.sql);
    await db.sql`
      insert into public.langfuse_traces (trace_id, entity_type, entity_id, user_id, input, output, created_at, model, status, latency_ms, total_tokens)
      select gen_random_uuid(), 'daily_status', gen_random_uuid(), ${user.id}, 'in', 'out', '2025-03-03T12:00:00Z', 'bulk', 'success', n, 2
      from generate_series(1, 100) n
    `;
    const batches: number[] = [];
    for (;;) {
      const [rolled] = await db.sql`select public.roll_up_usage(30) as n`;
      batches.push(rolled?.n);
      if (!rolled?.n) break;
    }
    expect(batches).toEqual([30, 30, 30, 10, 0]);
    const [row] =
      await db.sql`select requests, latency_count, latency_sum, total_tokens from public.usage_daily where model = 'bulk'`;
    expect(row).toEqual({
      requests: 100,
      latency_count: 100,
      latency_sum: '5050',
      total_tokens: '200',
    });
    await db.sql`select public.cleanup_old_traces(30, 1000, ${'2025-04-10T00:00:00Z'})`;
    const [traces] =
      await db.sql`select count(*)::int as n from public.langfuse_traces where user_id = ${user.id}`;
    expect(traces?.n).toBe(0);
    const [kept] =
      await db.sql`select requests, unique_users from public.daily_usage_rollup where model = 'bulk'`;
    expect(kept).toEqual({ requests: 100, unique_users: 1 });
    // The rollup mixes all users: service role only. A user reads their own usage from daily_usage.
    await expect(
      asUser(
        db.sql,
        { role: 'authenticated', sub: alice.id },
        (tx) => tx`select * from public.daily_usage_rollup`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
    const all = await asUser(
      db.sql,
      { role: 'service_role' },
      (tx) => tx`select model from public.daily_usage_rollup where model = 'bulk'`,
    );
    expect(all).toEqual([{ model: 'bulk' }]);
  });
});

describe('monthly_user_costs, error_summary and model_latency', () => {
  it('add up per user and month', async () => {
    const rows =
      await db.sql`select user_id, month::text, requests, total_tokens, cost_usd, unpriced_requests from public.monthly_user_costs`;
    const byUser = new Map(rows.map((row) => [row.user_id, row]));
    expect(byUser.get(alice.id)).toMatchObject({
      month: '2026-09-01',
      requests: 5,
      total_tokens: '70',
      unpriced_requests: 1,
    });
    expect(Number(byUser.get(alice.id)?.cost_usd)).toBeCloseTo(0.004, 12);
    expect(byUser.get(bob.id)).toMatchObject({
      requests: 2,
      total_tokens: '0',
      unpriced_requests: 2,
    });
  });

  it('summarise errors by model and class', async () => {
    const rows =
      await db.sql`select model, error_class, occurrences, first_seen, last_seen, last_error from public.error_summary order by error_class`;
    expect(rows.map((r) => [r.model, r.error_class, r.occurrences, r.last_error])).toEqual([
      ['gpt-4o-mini', 'timeout', 1, 'timeout: took too long'],
      ['gpt-4o-mini', 'upstream', 1, 'upstream: HTTP 500'],
    ]);
    expect(rows[0]?.first_seen.toISOString()).toBe('2026-09-01T05:00:00.000Z');
  });

  it('give latency per model', async () => {
    const rows =
      await db.sql`select provider, model, requests, avg_latency_ms, p50_latency_ms from public.model_latency order by model`;
    expect(
      rows.map((r) => [
        r.provider,
        r.model,
        r.requests,
        Number(r.avg_latency_ms),
        r.p50_latency_ms,
      ]),
    ).toEqual([
      ['openai', 'gpt-4o-mini', 6, 336.7, 250],
      ['anthropic', 'my-claude', 1, 50, 50],
    ]);
  });
});

describe('RLS through the views', () => {
  it("shows a user only their own calls' numbers; service role sees all; anon nothing", async () => {
    const mine = await asUser(
      db.sql,
      { role: 'authenticated', sub: alice.id },
      (tx) => tx`
      select model, requests, unique_users from public.daily_usage order by day
    `,
    );
    expect(mine).toEqual([
      { model: 'gpt-4o-mini', requests: 4, unique_users: 1 },
      { model: 'my-claude', requests: 1, unique_users: 1 },
    ]);
    const bobsErrors = await asUser(
      db.sql,
      { role: 'authenticated', sub: alice.id },
      (tx) => tx`select * from public.error_summary`,
    );
    expect(bobsErrors).toEqual([]);
    const costs = await asUser(
      db.sql,
      { role: 'authenticated', sub: bob.id },
      (tx) => tx`select user_id from public.monthly_user_costs`,
    );
    expect(costs).toEqual([{ user_id: bob.id }]);
    const all = await asUser(
      db.sql,
      { role: 'service_role' },
      (tx) => tx`select sum(requests)::int as n from public.daily_usage`,
    );
    expect(all).toEqual([{ n: 7 }]);
    await expect(
      asUser(db.sql, { role: 'anon' }, (tx) => tx`select * from public.daily_usage`),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('are security invoker views', async () => {
    const rows = await db.sql`
      select c.relname, c.reloptions from pg_catalog.pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind = 'v' order by 1
    `;
    expect(rows.map((r) => r.relname)).toEqual([
      'budget_overview',
      'daily_usage',
      'daily_usage_rollup',
      'error_summary',
      'model_latency',
      'monthly_user_costs',
      'my_budget',
    ]);
    for (const row of rows) expect(row.reloptions).toContain('security_invoker=true');
  });
});

describe('retention', () => {
  it('deletes old traces in batches, with their scores, but never one with a pending score', async () => {
    const user = await insertUser(db.sql);
    const old: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      old.push(
        await insertTrace({
          user: user.id,
          at: '2026-01-01T00:00:00Z',
          model: 'm',
          status: 'success',
          latency: 1,
        }),
      );
    }
    const waiting = await insertTrace({
      user: user.id,
      at: '2026-01-01T00:00:00Z',
      model: 'm',
      status: 'success',
      latency: 1,
    });
    await db.sql`insert into public.langfuse_scores (trace_id, score_name, value) values (${waiting}, 'user_feedback', 1)`;
    await db.sql`insert into public.langfuse_scores (trace_id, score_name, value, status, sent_at) values (${old[0] as string}, 'user_feedback', 1, 'sent', now())`;
    const recent = await insertTrace({
      user: user.id,
      at: '2026-11-01T00:00:00Z',
      model: 'm',
      status: 'success',
      latency: 1,
    });

    const notCounted = await insertTrace({
      user: user.id,
      at: '2026-01-01T00:00:00Z',
      model: 'm',
      status: 'success',
      latency: 1,
    });
    await db.sql`update public.langfuse_traces set rolled_up_at = now() where user_id = ${user.id} and trace_id <> ${notCounted}`;
    const now = '2026-11-20T00:00:00Z';
    const batches: number[] = [];
    for (;;) {
      const [row] = await db.sql`select public.cleanup_old_traces(90, 2, ${now}) as n`;
      batches.push(row?.n);
      if (row?.n === 0) break;
    }
    expect(batches).toEqual([2, 2, 1, 0]);
    const left =
      await db.sql`select trace_id from public.langfuse_traces where user_id = ${user.id} order by created_at`;
    // Kept: the trace with a pending score, the one not yet in the rollup, and the recent one.
    expect(left.map((r) => r.trace_id).sort()).toEqual([waiting, notCounted, recent].sort());
    const [scores] =
      await db.sql`select count(*)::int as n from public.langfuse_scores where trace_id = ${old[0] as string}`;
    expect(scores?.n).toBe(0);
  });

  it('cleans rate-limit windows over a day old and old completed sync runs, keeping unfinished ones', async () => {
    const user = await insertUser(db.sql);
    await db.sql`
      insert into public.rate_limit_logs (user_id, endpoint, window_start)
      values (${user.id}, 'a', '2026-11-18T00:00:00Z'), (${user.id}, 'a', '2026-11-19T23:00:00Z')
    `;
    const [windows] =
      await db.sql`select public.cleanup_rate_limit_logs('1 day', 100, ${'2026-11-20T12:00:00Z'}) as n`;
    expect(windows?.n).toBe(1);
    const kept =
      await db.sql`select window_start from public.rate_limit_logs where user_id = ${user.id}`;
    expect(kept.map((r) => r.window_start.toISOString())).toEqual(['2026-11-19T23:00:00.000Z']);

    const [done, unfinished] = [randomUUID(), randomUUID()];
    await db.sql`
      insert into public.langfuse_batch_runs (id, batch_name, started_at, completed_at, created_at) values
        (${done}, 'langfuse-sync', '2026-09-01', '2026-09-01', '2026-09-01'),
        (${unfinished}, 'langfuse-sync', '2026-09-01', null, '2026-09-01')
    `;
    const [runs] =
      await db.sql`select public.cleanup_batch_runs(30, 100, ${'2026-11-20T00:00:00Z'}) as n`;
    expect(runs?.n).toBe(1);
    const left =
      await db.sql`select id from public.langfuse_batch_runs where id in (${done}, ${unfinished})`;
    expect(left.map((r) => r.id)).toEqual([unfinished]);
  });

  it('is drained batch after batch by the local scheduler', async () => {
    const user = await insertUser(db.sql);
    for (let i = 0; i < 7; i += 1) {
      await insertTrace({
        user: user.id,
        at: '2025-01-01T00:00:00Z',
        model: 'm',
        status: 'success',
        latency: 1,
      });
    }
    await db.sql`select public.roll_up_usage()`;
    const report = await runRetention(db.sql, { retentionDays: 90, batchSize: 3 });
    expect(report.traces).toBeGreaterThanOrEqual(7);
    const [left] =
      await db.sql`select count(*)::int as n from public.langfuse_traces where user_id = ${user.id}`;
    expect(left?.n).toBe(0);
  });
});
