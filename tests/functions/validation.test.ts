/**
 * Validation before spending: what Postgres (or the product) would refuse is
 * refused with 400 before the rate limit counts the request and before the
 * LLM is paid for. And what an LLM answers is stored even when Postgres text
 * could not hold it as sent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { dailyStatus } from '../../supabase/functions/_shared/coach/kinds/daily-status.ts';
import { encouragement } from '../../supabase/functions/_shared/coach/kinds/encouragement.ts';
import { reflection } from '../../supabase/functions/_shared/coach/kinds/reflection.ts';
import { createFeedbackHandler } from '../../supabase/functions/_shared/feedback.ts';
import { type CoachFixture, coachFixture, parseSse, post } from '../support/coach-fixture.ts';
import { insertCoachTurn, insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let mock: MockLlm;
let fx: CoachFixture;
let user: TestUser;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  fx = await coachFixture({ sql: db.sql, mock });
  user = await insertUser(db.sql);
  token = await fx.token(user.id);
});
afterAll(async () => {
  await mock?.stop();
  await db?.drop();
});
beforeEach(() => mock.reset());

async function counted(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    select coalesce(sum(request_count), 0)::int as n from public.rate_limit_logs where user_id = ${user.id}
  `;
  return row?.n ?? 0;
}

/** The answer to a request that must be refused before anything is spent. */
async function refusedBeforeSpending(handler: (req: Request) => Promise<Response>, req: Request) {
  const before = await counted();
  const res = await handler(req);
  const body = (await res.json()) as { error: { code: string; details?: unknown } };
  expect(await counted()).toBe(before);
  expect(mock.requests).toHaveLength(0);
  return { status: res.status, body };
}

const NUL = '\u0000';

describe('refused with 400 before the rate limit and the LLM', () => {
  it('NUL in any text field', async () => {
    const cases = [
      [aiCoach, 'ai-coach', { message: `run${NUL}now` }],
      [encouragement, 'encouragement', { context: `tired${NUL}` }],
      [reflection, 'reflection', { body: `${NUL}` }],
      [dailyStatus, 'daily-status', { note: `ok${NUL}` }],
      [dailyStatus, 'daily-status', { mission: `walk${NUL}` }],
    ] as const;
    for (const [kind, path, body] of cases) {
      const handler = fx.handler(kind as typeof aiCoach);
      const { status, body: answer } = await refusedBeforeSpending(
        handler,
        post(path, body, token),
      );
      expect({ path, status }).toEqual({ path, status: 400 });
      expect(JSON.stringify(answer.error.details)).toContain('NUL');
    }
  });

  it('NUL in a feedback comment', async () => {
    const feedback = createFeedbackHandler(fx.deps);
    const { traceId } = await insertCoachTurn(db.sql, user.id);
    const res = await feedback(post('feedback', { traceId, value: 1, comment: `x${NUL}` }, token));
    expect(res.status).toBe(400);
    const [score] = await db.sql`select 1 from public.langfuse_scores where trace_id = ${traceId}`;
    expect(score).toBeUndefined();
  });

  it('dates Postgres or the product would refuse', async () => {
    const handler = fx.handler(dailyStatus);
    const day = (offset: number) =>
      new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    for (const date of ['0000-01-01', '1999-12-31', '2100-01-01', '2026-02-30', day(-30), day(5)]) {
      const { status, body } = await refusedBeforeSpending(
        handler,
        post('daily-status', { date, mood: 3 }, token),
      );
      expect({ date, status, code: body.error.code }).toEqual({
        date,
        status: 400,
        code: 'invalid_request',
      });
    }
    const outOfWindow = await refusedBeforeSpending(
      handler,
      post('daily-status', { date: day(-30), mood: 3 }, token),
    );
    expect(outOfWindow.body.error.details).toEqual({ reason: 'DATE_OUT_OF_WINDOW' });
  });

  it('lets the window through, and defaults to the user local today', async () => {
    await db.sql`insert into public.user_settings (user_id, time_zone) values (${user.id}, 'Pacific/Kiritimati')
      on conflict (user_id) do update set time_zone = excluded.time_zone`;
    const handler = fx.handler(dailyStatus);
    const [local] = await db.sql<{ today: string }[]>`
      select public.user_local_date(${user.id})::text as today
    `;
    const res = await handler(post('daily-status', { mood: 4 }, token));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ date: local?.today, stored: true });
    const weekAgo = new Date(Date.parse(`${local?.today}T00:00:00Z`) - 7 * 86_400_000)
      .toISOString()
      .slice(0, 10);
    expect((await handler(post('daily-status', { date: weekAgo, mood: 2 }, token))).status).toBe(
      200,
    );
    await db.sql`delete from public.user_settings where user_id = ${user.id}`;
  });
});

describe('an LLM answer Postgres text could not hold', () => {
  it('is stored with NUL replaced, in the reply, the row and the trace', async () => {
    mock.behavior.replyText = `Breathe${NUL}in.`;
    const res = await fx.handler(reflection)(post('reflection', { body: 'A long day' }, token));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { reply: string; reflectionId: string; traceId: string };
    expect(body.reply).toBe('Breathe\uFFFDin.');
    const [row] = await db.sql`
      select r.coach_reply, t.output from public.reflections r
      join public.langfuse_traces t on t.trace_id = r.langfuse_trace_id
      where r.id = ${body.reflectionId}
    `;
    expect(row).toEqual({ coach_reply: 'Breathe\uFFFDin.', output: 'Breathe\uFFFDin.' });
  });

  it('is stored from a stream too', async () => {
    mock.behavior.replyText = `One${NUL}step.`;
    const res = await fx.handler(aiCoach)(post('ai-coach', { message: 'hi', stream: true }, token));
    const done = parseSse(await res.text()).at(-1);
    expect(done).toMatchObject({ event: 'done', data: { stored: true } });
    const [row] = await db.sql`
      select content from public.ai_coach_messages where id = ${String(done?.data.messageId)}
    `;
    expect(row?.content).toBe('One\uFFFDstep.');
  });
});
