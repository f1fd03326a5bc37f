/**
 * Rate limiting per user and endpoint: exact under concurrency, the 429 and
 * its headers, windows that roll over, and the documented fail modes.
 */

import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { reflection } from '../../supabase/functions/_shared/coach/kinds/reflection.ts';
import { RateLimitPolicySchema } from '../../supabase/functions/_shared/config.ts';
import { asUser } from '../../supabase/functions/_shared/db/as-user.ts';
import { q, run, type Statement } from '../../supabase/functions/_shared/db/statement.ts';
import { rateLimitStatement } from '../../supabase/functions/_shared/rate-limit/limiter.ts';
import { coachFixture, post } from '../support/coach-fixture.ts';
import { insertUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let mock: MockLlm;

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
});
afterAll(async () => {
  await mock?.stop();
  await db?.drop();
});
beforeEach(() => mock.reset());

describe('the limit', () => {
  it('lets exactly L of N parallel requests through and never calls the LLM for the rest', async () => {
    const fx = await coachFixture({ sql: db.sql, mock, env: { RATE_LIMIT_AI_COACH: '10/60s' } });
    fx.clock.set(new Date('2026-11-22T10:00:05Z'));
    const user = await insertUser(db.sql);
    const token = await fx.token(user.id);
    const handler = fx.handler(aiCoach);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        handler(post('ai-coach', { message: `parallel ${i}` }, token)),
      ),
    );
    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(40);
    expect(mock.requests).toHaveLength(10);
    const [window] =
      await db.sql`select request_count from public.rate_limit_logs where user_id = ${user.id}`;
    expect(window?.request_count).toBe(50);
  });

  it('answers 429 with Retry-After, RateLimit-Policy, RateLimit and X-RateLimit headers', async () => {
    const fx = await coachFixture({ sql: db.sql, mock, env: { RATE_LIMIT_AI_COACH: '2/60s' } });
    fx.clock.set(new Date('2026-11-22T10:00:45Z'));
    const user = await insertUser(db.sql);
    const token = await fx.token(user.id);
    const handler = fx.handler(aiCoach);
    const first = await handler(post('ai-coach', { message: 'one' }, token));
    expect(first.headers.get('ratelimit')).toBe('"ai-coach";r=1;t=15');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    await handler(post('ai-coach', { message: 'two' }, token));
    const limited = await handler(post('ai-coach', { message: 'three' }, token));
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: expect.stringContaining('2 per 60 seconds'),
        details: { limit: 2, windowSeconds: 60, retryAfterSeconds: 15 },
      },
    });
    expect(Object.fromEntries(limited.headers)).toMatchObject({
      'retry-after': '15',
      'ratelimit-policy': '"ai-coach";q=2;w=60',
      ratelimit: '"ai-coach";r=0;t=15',
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(Date.parse('2026-11-22T10:01:00Z') / 1000),
    });
  });

  it('rolls over to a fresh window', async () => {
    const fx = await coachFixture({ sql: db.sql, mock, env: { RATE_LIMIT_AI_COACH: '1/60s' } });
    const user = await insertUser(db.sql);
    const token = await fx.token(user.id);
    const handler = fx.handler(aiCoach);
    fx.clock.set(new Date('2026-11-22T11:00:59Z'));
    expect((await handler(post('ai-coach', { message: 'a' }, token))).status).toBe(200);
    expect((await handler(post('ai-coach', { message: 'b' }, token))).status).toBe(429);
    fx.clock.set(new Date('2026-11-22T11:01:00Z'));
    expect((await handler(post('ai-coach', { message: 'c' }, token))).status).toBe(200);
    const windows =
      await db.sql`select window_start, request_count from public.rate_limit_logs where user_id = ${user.id} order by window_start`;
    expect(windows.map((w) => [w.window_start.toISOString(), w.request_count])).toEqual([
      ['2026-11-22T11:00:00.000Z', 2],
      ['2026-11-22T11:01:00.000Z', 1],
    ]);
  });

  it('counts each user and each endpoint on its own', async () => {
    const fx = await coachFixture({
      sql: db.sql,
      mock,
      env: { RATE_LIMIT_AI_COACH: '1/60s', RATE_LIMIT_REFLECTION: '1/60s' },
    });
    fx.clock.set(new Date('2026-11-22T12:00:00Z'));
    const [alice, bob] = [await insertUser(db.sql), await insertUser(db.sql)];
    const coach = fx.handler(aiCoach);
    expect((await coach(post('ai-coach', { message: 'a' }, await fx.token(alice.id)))).status).toBe(
      200,
    );
    expect((await coach(post('ai-coach', { message: 'a' }, await fx.token(alice.id)))).status).toBe(
      429,
    );
    expect((await coach(post('ai-coach', { message: 'b' }, await fx.token(bob.id)))).status).toBe(
      200,
    );
    const reflect = fx.handler(reflection);
    expect(
      (await reflect(post('reflection', { body: 'r' }, await fx.token(alice.id)))).status,
    ).toBe(200);
  });
});

describe('when the database cannot be reached for the check', () => {
  async function deadDatabaseFixture(failMode: 'open' | 'closed') {
    const dead = postgres('postgresql://postgres:postgres@127.0.0.1:9/postgres', {
      connect_timeout: 1,
      max: 1,
    });
    const fx = await coachFixture({
      sql: dead,
      mock,
      env: { RATE_LIMIT_FAIL_MODE: failMode, DB_TIMEOUT_MS: '1500', STORE_RETRY_BUDGET_MS: '300' },
    });
    return { fx, dead };
  }

  it('fails closed by default: 503, and the LLM is not called', async () => {
    const { fx, dead } = await deadDatabaseFixture('closed');
    try {
      const res = await fx.handler(aiCoach)(
        post('ai-coach', { message: 'hi' }, await fx.token(crypto.randomUUID())),
      );
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toMatchObject({ error: { code: 'service_unavailable' } });
      expect(mock.requests).toHaveLength(0);
    } finally {
      await dead.end({ timeout: 0 });
    }
  });

  it('fails open when configured: the request goes on to the LLM', async () => {
    const { fx, dead } = await deadDatabaseFixture('open');
    try {
      const res = await fx.handler(aiCoach)(
        post('ai-coach', { message: 'hi' }, await fx.token(crypto.randomUUID())),
      );
      expect(mock.requests).toHaveLength(1);
      // The LLM was paid for: the user gets the reply, not yet stored; the
      // background writer cannot store it either, so its record is logged whole.
      expect(res.status).toBe(200);
      const body = (await res.json()) as { reply: string; stored: boolean; traceId: string };
      expect(body.stored).toBe(false);
      expect(fx.logs).toContainEqual(
        expect.objectContaining({ msg: 'rate limit check failed', failMode: 'open' }),
      );
      await fx.settle();
      expect(fx.logs).toContainEqual(
        expect.objectContaining({
          level: 'error',
          msg: 'call not recorded',
          traceId: body.traceId,
          record: expect.objectContaining({
            store: expect.objectContaining({ reply: body.reply }),
            trace: expect.objectContaining({ traceId: body.traceId }),
          }),
        }),
      );
    } finally {
      await dead.end({ timeout: 0 });
    }
  });
});

describe('the SQL function', () => {
  it('is not executable by API users', async () => {
    const user = await insertUser(db.sql);
    await expect(
      asUser(
        db.sql,
        { role: 'authenticated', sub: user.id },
        (tx) => tx`select * from public.check_rate_limit(${user.id}, 'x', 60)`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(
      asUser(
        db.sql,
        { role: 'anon' },
        (tx) => tx`select * from public.check_rate_limit(${user.id}, 'x', 60)`,
      ),
    ).rejects.toMatchObject({
      code: '42501',
    });
  });

  it('reads what rides along with the count only when the request is within the limit', async () => {
    const user = await insertUser(db.sql);
    const policy = { limit: 1, windowSeconds: 60 };
    const now = new Date();
    // A context that fails when read (at run time: random() keeps it from being folded
    // at planning): over the limit it must not be read at all.
    const failing = q`(select 1 / (0 * random())::int)`;
    const readable = q`(select 42)`;
    const count = (name: string, limit: typeof policy, context: Statement) =>
      run(db.sql, rateLimitStatement(user.id, name, limit, now, context), { prepare: false });
    const [first] = await count('ride', policy, readable);
    expect(first).toMatchObject({ request_count: 1, context: 42 });
    const [second] = await count('ride', policy, failing);
    expect(second).toMatchObject({ request_count: 2, context: null });
    // Within a limit, the same context is read, and fails.
    const roomy = { limit: 100, windowSeconds: 60 };
    await expect(count('ride-roomy', roomy, failing)).rejects.toMatchObject({ code: '22012' });
  });

  it('parses policies like 20/60s, 100/1h and 5/30', () => {
    expect(RateLimitPolicySchema.parse('20/60s')).toEqual({ limit: 20, windowSeconds: 60 });
    expect(RateLimitPolicySchema.parse('100/1h')).toEqual({ limit: 100, windowSeconds: 3600 });
    expect(RateLimitPolicySchema.parse('5/30')).toEqual({ limit: 5, windowSeconds: 30 });
    expect(RateLimitPolicySchema.safeParse('0/60s').success).toBe(false);
    expect(RateLimitPolicySchema.safeParse('lots').success).toBe(false);
  });
});
