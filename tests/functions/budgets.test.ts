/**
 * Per-user token and cost budgets on real Postgres and the mock LLM: the
 * reservation made before the call, settled to what the call cost with its
 * trace, exact under concurrency, in the user's local days and months.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { createBudgetHandler } from '../../supabase/functions/_shared/budget/handler.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { asUser } from '../../supabase/functions/_shared/db/as-user.ts';
import { estimateTokens } from '../../supabase/functions/_shared/llm/tokens.ts';
import { type CoachFixture, coachFixture, parseSse, post } from '../support/coach-fixture.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

let db: TestDatabase;
let mock: MockLlm;
let fx: CoachFixture;

const NO_PRIVILEGE = { code: '42501', message: expect.stringContaining('permission denied') };

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  fx = await coachFixture({
    sql: db.sql,
    mock,
    env: { RATE_LIMIT_AI_COACH: '1000/60s', AI_COACH_MODEL: 'gpt-4o-mini' },
  });
  await db.sql`
    insert into public.plans (name, tokens_per_day, cost_usd_per_day, cost_usd_per_month, unpriced_models)
    values ('test-tokens', 1000000, null, null, 'refuse'), ('test-cost', null, 1, 10, 'refuse'),
           ('test-cost-tokens-only', 1000000, 1, 10, 'tokens_only')
  `;
});
afterAll(async () => {
  await mock?.stop();
  await db?.drop();
});
beforeEach(() => mock.reset());

async function userOn(
  plan: string | null,
  timeZone = 'UTC',
): Promise<{ user: TestUser; token: string }> {
  const user = await insertUser(db.sql);
  await db.sql`insert into public.user_settings (user_id, time_zone, plan) values (${user.id}, ${timeZone}, ${plan})`;
  return { user, token: await fx.token(user.id) };
}

/** The user's budget row of today (UTC), or the month's: the sum of its day rows. */
async function usage(userId: string, kind: 'day' | 'month' = 'day') {
  const [row] = await db.sql<
    { tokens_used: string; tokens_reserved: string; cost_used: string; cost_reserved: string }[]
  >`
    select sum(tokens_used)::text as tokens_used, sum(tokens_reserved)::text as tokens_reserved,
      sum(cost_used)::text as cost_used, sum(cost_reserved)::text as cost_reserved
    from public.budget_usage
    where user_id = ${userId} and window_kind = 'day'
      and window_start >= case ${kind}::text when 'day' then current_date else date_trunc('month', current_date)::date end
      and window_start <= current_date
    having count(*) > 0
  `;
  return (
    row && {
      tokensUsed: Number(row.tokens_used),
      tokensReserved: Number(row.tokens_reserved),
      costUsed: Number(row.cost_used),
      costReserved: Number(row.cost_reserved),
    }
  );
}

async function traceOf(traceId: string) {
  await fx.settle();
  const [row] =
    await db.sql`select total_tokens, cost_usd, usage_source, status from public.langfuse_traces where trace_id = ${traceId}`;
  return row;
}

const ask = (token: string, body: Record<string, unknown> = { message: 'Help me keep going' }) =>
  fx.handler(aiCoach)(post('ai-coach', body, token));

/** The tokens one call reserves, read from the Budget header of a first call. */
async function reservationOf(token: string, limit: number): Promise<number> {
  const res = await ask(token);
  expect(res.status).toBe(200);
  const remaining = /"tokens";r=(\d+)/.exec(res.headers.get('budget') ?? '')?.[1];
  return limit - Number(remaining);
}

describe('the reservation', () => {
  it('is made before the call and replaced by what the call cost', async () => {
    const { user, token } = await userOn('test-tokens');
    const reserved = await reservationOf(token, 1_000_000);
    expect(reserved).toBeGreaterThan(600); // the output limit (600) and the prompt
    await fx.settle();
    const [trace] =
      await db.sql`select trace_id, total_tokens, cost_usd from public.langfuse_traces where user_id = ${user.id}`;
    expect(await usage(user.id)).toEqual({
      tokensUsed: trace?.total_tokens,
      tokensReserved: 0,
      costUsed: Number(trace?.cost_usd),
      costReserved: 0,
    });
    expect(trace?.total_tokens).toBeLessThan(reserved);
    expect((await usage(user.id, 'month'))?.tokensUsed).toBe(trace?.total_tokens);
  });

  it('lets exactly N of 50 parallel calls through when the budget fits N, and nothing is overspent', async () => {
    const { user, token } = await userOn('test-tokens');
    const reserved = await reservationOf(token, 1_000_000);
    await fx.settle();
    const spent = (await usage(user.id))?.tokensUsed as number;
    const fits = 7;
    const limit = spent + fits * reserved;
    await db.sql`insert into public.plans (name, tokens_per_day) values (${`fits-${user.id.slice(0, 8)}`}, ${limit})`;
    await db.sql`update public.user_settings set plan = ${`fits-${user.id.slice(0, 8)}`} where user_id = ${user.id}`;
    // All 50 reserve before the first answer settles (and frees what it did not use).
    mock.reset();
    mock.behavior.latencyMs = 1500;
    const answers = await Promise.all(Array.from({ length: 50 }, () => ask(token)));
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(fits);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50 - fits);
    const refused = answers.find((res) => res.status === 429) as Response;
    expect(await refused.json()).toMatchObject({
      error: { code: 'budget_exceeded', details: { limit: 'tokens_per_day', limitValue: limit } },
    });
    expect(mock.requests).toHaveLength(fits);
    await fx.settle();
    const after = await usage(user.id);
    expect(after?.tokensReserved).toBe(0);
    expect(after?.tokensUsed).toBeLessThanOrEqual(limit);
  });

  it('keeps reservations and settlements of one user in one lock order: no deadlock', async () => {
    const { user, token } = await userOn('test-cost');
    mock.behavior.latencyMs = 15; // answers settle while other calls of the user still reserve
    const before = fx.logs.length;
    const answers = await Promise.all(Array.from({ length: 40 }, () => ask(token)));
    expect(answers.map((res) => res.status).filter((s) => s !== 200)).toEqual([]);
    await fx.settle();
    const problems = fx.logs.slice(before).filter((entry) => entry.level !== 'info');
    expect(problems).toEqual([]);
    const after = await usage(user.id);
    expect(after).toMatchObject({ tokensReserved: 0, costReserved: 0 });
    const [sum] =
      await db.sql`select sum(total_tokens)::int as tokens from public.langfuse_traces where user_id = ${user.id}`;
    expect(after?.tokensUsed).toBe(sum?.tokens);
  });

  it('holds a month limit exactly when parallel reservations fall on different days of it', async () => {
    const user = await insertUser(db.sql);
    const plan = `month-fits-${user.id.slice(0, 8)}`;
    await db.sql`insert into public.plans (name, cost_usd_per_day, cost_usd_per_month) values (${plan}, 1, 0.007)`;
    await db.sql`insert into public.user_settings (user_id, plan) values (${user.id}, ${plan})`;
    // Each day has its own row: only the month's lock keeps the two days from both passing.
    // Each reservation holds its transaction open a moment, so the other day's overlap it.
    const days = ['2027-03-10T12:00:00Z', '2027-03-11T12:00:00Z'];
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        db.sql.begin(async (tx) => {
          const rows = await tx<{ a: { ok: boolean; limit?: string } }[]>`
            select public.reserve_budget(${user.id}, 10, 0.001, ${days[i % 2] as string}) as a
          `;
          await tx`select pg_sleep(0.05)`;
          return rows;
        }),
      ),
    );
    const outcomes = answers.map(([row]) => row?.a);
    expect(outcomes.filter((a) => a?.ok)).toHaveLength(7);
    expect(outcomes.filter((a) => a?.limit === 'cost_usd_per_month')).toHaveLength(13);
    const [month] = await db.sql<{ reserved: string }[]>`
      select sum(cost_reserved)::text as reserved from public.budget_usage where user_id = ${user.id}
    `;
    expect(Number(month?.reserved)).toBeCloseTo(0.007, 10);
  });

  it('refuses on the month limit without reserving anything', async () => {
    const user = await insertUser(db.sql);
    await db.sql`insert into public.plans (name, cost_usd_per_day, cost_usd_per_month) values ('month-tight', 1, 0.001)`;
    await db.sql`insert into public.user_settings (user_id, plan) values (${user.id}, 'month-tight')`;
    const [first] = await db.sql`select public.reserve_budget(${user.id}, 100, 0.0008) as a`;
    const [second] = await db.sql`select public.reserve_budget(${user.id}, 100, 0.0008) as a`;
    expect(first?.a).toMatchObject({ ok: true });
    expect(second?.a).toMatchObject({
      ok: false,
      limit: 'cost_usd_per_month',
      limit_value: 0.001,
      reserved: 0.0008,
      asked: 0.0008,
    });
    expect(await usage(user.id, 'day')).toMatchObject({
      tokensReserved: 100,
      costReserved: 0.0008,
    });
    expect(await usage(user.id, 'month')).toMatchObject({
      tokensReserved: 100,
      costReserved: 0.0008,
    });
  });

  it('answers 429 budget_exceeded with Retry-After until the user local day ends', async () => {
    const { user, token } = await userOn('test-tokens', 'Asia/Tokyo');
    await db.sql`insert into public.plans (name, tokens_per_day) values ('tiny-tokyo', 10)`;
    await db.sql`update public.user_settings set plan = 'tiny-tokyo' where user_id = ${user.id}`;
    const res = await ask(token);
    expect(res.status).toBe(429);
    const [midnight] = await db.sql<{ at: Date }[]>`
      select ((now() at time zone 'Asia/Tokyo')::date + 1)::timestamp at time zone 'Asia/Tokyo' as at
    `;
    const expected = Math.ceil((Number(midnight?.at.getTime()) - Date.now()) / 1000);
    expect(Math.abs(Number(res.headers.get('retry-after')) - expected)).toBeLessThanOrEqual(2);
    expect(mock.requests).toHaveLength(0);
  });

  it('is released when the call fails', async () => {
    const { user, token } = await userOn('test-cost');
    mock.behavior.failure = { status: 500 };
    expect((await ask(token)).status).toBe(502);
    await fx.settle();
    expect(await usage(user.id)).toEqual({
      tokensUsed: 0,
      tokensReserved: 0,
      costUsed: 0,
      costReserved: 0,
    });
  });

  it('charges an aborted stream what it produced, and the trace says it was estimated', async () => {
    const { user, token } = await userOn('test-cost');
    mock.behavior.chunkDelayMs = 50;
    const abort = new AbortController();
    const res = await fx.handler(aiCoach)(
      new Request('http://127.0.0.1:54321/functions/v1/ai-coach', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ message: 'abort me', stream: true }),
        signal: abort.signal,
      }),
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    abort.abort();
    const trace = await waitFor(async () => {
      await fx.settle();
      const [row] = await db.sql`
        select total_tokens, cost_usd, usage_source, stream_status from public.langfuse_traces
        where user_id = ${user.id}
      `;
      return row;
    });
    expect(trace).toMatchObject({ usage_source: 'estimated', stream_status: 'aborted' });
    expect(await usage(user.id)).toEqual({
      tokensUsed: trace?.total_tokens,
      tokensReserved: 0,
      costUsed: Number(trace?.cost_usd),
      costReserved: 0,
    });
  });

  it('settles a streamed call like any other', async () => {
    const { user, token } = await userOn('test-cost');
    const res = await ask(token, { message: 'stream it', stream: true });
    const done = parseSse(await res.text()).at(-1);
    expect(done?.event).toBe('done');
    const trace = await traceOf(String(done?.data.traceId));
    expect((await usage(user.id))?.tokensUsed).toBe(trace?.total_tokens);
  });
});

describe('the token estimate', () => {
  it('counts as its SQL twin does, in every script (the reservation adds both)', async () => {
    const texts = [
      '',
      'plain ASCII, a short sentence.',
      'Café, naïve, Ærøskøbing',
      '今日は20分歩きました。ストレッチは忘れました。',
      'Emoji 🏃‍♀️💪 and flags 🇯🇵',
      'mixed: abc 日本 😀 é',
      'a lone \ud800 surrogate',
    ];
    const [row] = await db.sql<{ counts: number[] }[]>`
      select array_agg(public.tokens_upper_estimate(t) order by i) as counts
      from unnest(${texts}::text[]) with ordinality as x(t, i)
    `;
    expect(texts.map(estimateTokens)).toEqual(row?.counts);
    expect(estimateTokens('今日は')).toBe(4);
  });
});

describe('a model missing from the price table', () => {
  it('is refused under a cost limit when the plan says so, before the LLM is called', async () => {
    const unpriced = await coachFixture({
      sql: db.sql,
      mock,
      env: { AI_COACH_MODEL: 'my-local-llama' },
    });
    const { user } = await userOn('test-cost');
    const res = await unpriced.handler(aiCoach)(
      post('ai-coach', { message: 'hi' }, await unpriced.token(user.id)),
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { details: { reason: 'UNPRICED_MODEL' } } });
    expect(mock.requests).toHaveLength(0);
  });

  it('counts tokens only when the plan says so, never a silent 0 USD in the trace', async () => {
    const unpriced = await coachFixture({
      sql: db.sql,
      mock,
      env: { AI_COACH_MODEL: 'my-local-llama' },
    });
    const { user } = await userOn('test-cost-tokens-only');
    const res = await unpriced.handler(aiCoach)(
      post('ai-coach', { message: 'hi' }, await unpriced.token(user.id)),
    );
    expect(res.status).toBe(200);
    await unpriced.settle();
    const [trace] =
      await db.sql`select total_tokens, cost_usd from public.langfuse_traces where user_id = ${user.id}`;
    expect(trace?.cost_usd).toBeNull();
    expect(await usage(user.id)).toEqual({
      tokensUsed: trace?.total_tokens,
      tokensReserved: 0,
      costUsed: 0,
      costReserved: 0,
    });
  });
});

describe('windows', () => {
  it('are the user local day and month, and roll over at local midnight', async () => {
    const user = await insertUser(db.sql);
    await db.sql`insert into public.user_settings (user_id, time_zone, plan) values (${user.id}, 'Asia/Tokyo', 'test-tokens')`;
    // 23:30 on Jan 31 in Tokyo is 14:30 UTC; 00:30 on Feb 1 in Tokyo is 15:30 UTC.
    const [late] =
      await db.sql`select public.reserve_budget(${user.id}, 100, 0.01, '2027-01-31T14:30:00Z') as a`;
    const [early] =
      await db.sql`select public.reserve_budget(${user.id}, 100, 0.01, '2027-01-31T15:30:00Z') as a`;
    expect(late?.a).toMatchObject({ ok: true, day: '2027-01-31', month: '2027-01-01' });
    expect(early?.a).toMatchObject({ ok: true, day: '2027-02-01', month: '2027-02-01' });
    expect(late?.a.tokens_resets_at).toBe('2027-01-31T15:00:00+00:00');
  });
});

describe('what users see and may do', () => {
  it('shows users their own budget through the budget function and the view, nobody else’s', async () => {
    const { user, token } = await userOn('test-cost');
    const other = await userOn('test-tokens');
    expect((await ask(token)).status).toBe(200);
    await fx.settle();
    const budget = createBudgetHandler(fx.deps);
    const res = await budget(
      new Request('http://127.0.0.1/functions/v1/budget', {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { plan: string; windows: Record<string, unknown>[] };
    expect(body.plan).toBe('test-cost');
    const dayCost = body.windows.find((w) => w.window === 'day' && w.measure === 'cost_usd');
    const spent = (await usage(user.id))?.costUsed as number;
    expect(dayCost).toMatchObject({ limit: 1, used: spent, reserved: 0, remaining: 1 - spent });
    expect(Date.parse(String(dayCost?.resetsAt))).toBeGreaterThan(Date.now());
    const theirs = await asUser(
      db.sql,
      { role: 'authenticated', sub: other.user.id },
      (tx) => tx`select * from public.my_budget`,
    );
    expect(theirs.every((row) => row.plan === 'test-tokens')).toBe(true);
    expect(theirs.find((row) => row.measure === 'tokens')?.used).toBe('0');
    const anonymous = await budget(new Request('http://127.0.0.1/functions/v1/budget'));
    expect(anonymous.status).toBe(401);
  });

  it('gives the service role spend against budget for all users', async () => {
    const { user, token } = await userOn('test-cost');
    expect((await ask(token)).status).toBe(200);
    await fx.settle();
    const [row] = await db.sql`select * from public.budget_overview where user_id = ${user.id}`;
    expect(row).toMatchObject({ plan: 'test-cost', status: 'ok' });
    await expect(
      asUser(
        db.sql,
        { role: 'authenticated', sub: user.id },
        (tx) => tx`select * from public.budget_overview`,
      ),
    ).rejects.toMatchObject(NO_PRIVILEGE);
  });

  it('never lets users change their plan, a plan or their counters', async () => {
    const { user } = await userOn('test-tokens');
    const as = (work: Parameters<typeof asUser>[2]) =>
      asUser(db.sql, { role: 'authenticated', sub: user.id }, work);
    await expect(
      as((tx) => tx`update public.user_settings set plan = 'unlimited'`),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    await expect(
      as((tx) => tx`update public.plans set tokens_per_day = null`),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    await expect(
      as((tx) => tx`update public.budget_usage set tokens_used = 0`),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    await expect(
      as(
        (tx) =>
          tx`insert into public.budget_usage (user_id, window_kind, window_start) values (${user.id}, 'day', current_date)`,
      ),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    await expect(
      as((tx) => tx`select public.reserve_budget(${user.id}, -1000, 0)`),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    const fresh = await insertUser(db.sql);
    await expect(
      asUser(
        db.sql,
        { role: 'authenticated', sub: fresh.id },
        (tx) =>
          tx`insert into public.user_settings (user_id, plan) values (${fresh.id}, 'unlimited')`,
      ),
    ).rejects.toMatchObject(NO_PRIVILEGE);
  });
});
