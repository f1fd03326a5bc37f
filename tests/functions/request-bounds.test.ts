/**
 * Limits on what one client can take: feedback has a per-user rate limit,
 * a body that trickles in is cut with 408, and a client that goes away
 * mid-upload is logged quietly, not as an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { createFeedbackHandler } from '../../supabase/functions/_shared/feedback.ts';
import { type CoachFixture, coachFixture, post } from '../support/coach-fixture.ts';
import { insertCoachTurn, insertUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let mock: MockLlm;
let fx: CoachFixture;

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  fx = await coachFixture({
    sql: db.sql,
    mock,
    env: { RATE_LIMIT_FEEDBACK: '5/60s', BODY_READ_TIMEOUT_MS: '400' },
  });
});
afterAll(async () => {
  await mock?.stop();
  await db?.drop();
});

/** A request whose body arrives through `source`, as a slow or vanishing client sends it. */
function streamed(token: string, source: UnderlyingDefaultSource<Uint8Array>): Request {
  return new Request('http://127.0.0.1:54321/functions/v1/ai-coach', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: new ReadableStream<Uint8Array>(source),
    duplex: 'half',
  } as RequestInit);
}

describe('feedback', () => {
  it('has a per-user rate limit: exactly L of N parallel calls pass', async () => {
    const user = await insertUser(db.sql);
    const token = await fx.token(user.id);
    const traces = await Promise.all(
      Array.from({ length: 12 }, () => insertCoachTurn(db.sql, user.id)),
    );
    const feedback = createFeedbackHandler(fx.deps);
    const answers = await Promise.all(
      traces.map(({ traceId }) => feedback(post('feedback', { traceId, value: 1 }, token))),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    const limited = answers.find((res) => res.status === 429);
    expect(limited?.headers.get('ratelimit-policy')).toBe('"feedback";q=5;w=60');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    const [scores] = await db.sql`
      select count(*)::int as n from public.langfuse_scores s
      join public.langfuse_traces t using (trace_id) where t.user_id = ${user.id}
    `;
    expect(scores?.n).toBe(5);
  });
});

describe('request bodies', () => {
  it('cut a body that trickles in slower than BODY_READ_TIMEOUT_MS with 408', async () => {
    const token = await fx.token((await insertUser(db.sql)).id);
    const bytes = new TextEncoder().encode('{"message":"slow"}');
    let sent = 0;
    const started = performance.now();
    const res = await fx.handler(aiCoach)(
      streamed(token, {
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 150));
          if (sent < bytes.length) controller.enqueue(bytes.slice(sent, ++sent));
          else controller.close();
        },
      }),
    );
    expect(res.status).toBe(408);
    expect(await res.json()).toMatchObject({ error: { code: 'request_timeout' } });
    expect(performance.now() - started).toBeLessThan(1500);
    expect(mock.requests).toHaveLength(0);
  });

  it('log a client that goes away mid-upload quietly, as no error', async () => {
    const token = await fx.token((await insertUser(db.sql)).id);
    const res = await fx.handler(aiCoach)(
      streamed(token, {
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"message":'));
        },
        pull(controller) {
          controller.error(new Error('socket hang up'));
        },
      }),
    );
    expect(res.status).toBe(499);
    expect(fx.logs).toContainEqual(
      expect.objectContaining({ level: 'info', msg: 'client closed the request' }),
    );
    expect(fx.logs.filter((entry) => entry.level === 'error')).toEqual([]);
    expect(mock.requests).toHaveLength(0);
  });
});
