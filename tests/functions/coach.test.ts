/**
 * The coach pipeline, called as the functions call it (fetch(Request)), on a
 * real database, the mock LLM through the official SDKs, and real tokens.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { dailyStatus } from '../../supabase/functions/_shared/coach/kinds/daily-status.ts';
import { encouragement } from '../../supabase/functions/_shared/coach/kinds/encouragement.ts';
import { reflection } from '../../supabase/functions/_shared/coach/kinds/reflection.ts';
import { type CoachFixture, coachFixture, parseSse, post } from '../support/coach-fixture.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let mock: MockLlm;
let fx: CoachFixture;
let user: TestUser;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  fx = await coachFixture({
    sql: db.sql,
    mock,
    env: { LLM_TIMEOUT_MS: '1500', AI_COACH_MODEL: 'gpt-4o-mini' },
  });
  user = await insertUser(db.sql);
  token = await fx.token(user.id);
});
afterAll(async () => {
  await mock?.stop();
  await db?.drop();
});
beforeEach(() => mock.reset());

async function traceRow(traceId: unknown) {
  await fx.settle();
  const [row] =
    await db.sql`select * from public.langfuse_traces where trace_id = ${String(traceId)}`;
  return row;
}

describe('ai-coach', () => {
  it('stores both turns, links the reply to its trace and records tokens, cost and latency', async () => {
    const res = await fx.handler(aiCoach)(
      post('ai-coach', { message: 'I keep skipping my run' }, token),
    );
    expect(res.status).toBe(200);
    // Where the time went, phase by phase, then the handler's total.
    const phases = (res.headers.get('server-timing') ?? '')
      .split(', ')
      .map((entry) => entry.split(';dur=')[0]);
    expect(phases).toEqual(['auth', 'body', 'ratelimit', 'prompt', 'llm', 'store', 'total']);
    const body = (await res.json()) as {
      reply: string;
      messageId: string;
      conversationId: string;
      traceId: string;
      usage: { inputTokens: number; outputTokens: number };
    };
    expect(body.reply).toContain('I keep skipping my run');
    expect(body.usage).toEqual({
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
    });

    const messages = await db.sql`
      select id, role, content, langfuse_trace_id from public.ai_coach_messages
      where conversation_id = ${body.conversationId} order by created_at
    `;
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(messages[1]?.id).toBe(body.messageId);

    const trace = await traceRow(body.traceId);
    expect(trace).toMatchObject({
      entity_type: 'ai_coach_message',
      entity_id: body.messageId,
      user_id: user.id,
      output: body.reply,
      tags: ['ai-coach', 'openai'],
    });
    expect(JSON.parse(trace?.input)).toEqual([
      { role: 'system', content: expect.stringContaining('coach') },
      { role: 'user', content: 'I keep skipping my run' },
    ]);
    const meta = trace?.metadata;
    expect(meta).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini',
      status: 'success',
      usage_source: 'provider',
      input_tokens: body.usage.inputTokens,
      output_tokens: body.usage.outputTokens,
      total_tokens: body.usage.inputTokens + body.usage.outputTokens,
      stream: false,
      stream_status: null,
      error: null,
    });
    expect(meta.latency_ms).toBeGreaterThanOrEqual(0);
    // gpt-4o-mini: $0.15 in, $0.60 out per million tokens.
    expect(meta.cost_usd).toBeCloseTo(
      (body.usage.inputTokens * 0.15 + body.usage.outputTokens * 0.6) / 1e6,
      12,
    );

    const [reply] =
      await db.sql`select langfuse_trace_id from public.ai_coach_messages where id = ${body.messageId}`;
    expect(reply?.langfuse_trace_id).toBe(body.traceId);

    // The typed columns the usage views read carry the same numbers.
    expect(trace).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini',
      status: 'success',
      error: null,
      latency_ms: meta.latency_ms,
      input_tokens: meta.input_tokens,
      output_tokens: meta.output_tokens,
      total_tokens: meta.total_tokens,
      usage_source: 'provider',
      stream_status: null,
    });
    expect(Number(trace?.cost_usd)).toBeCloseTo(meta.cost_usd, 10);
  });

  it('puts the conversation so far into the prompt, bounded by HISTORY_MAX_TURNS', async () => {
    const bounded = await coachFixture({ sql: db.sql, mock, env: { HISTORY_MAX_TURNS: '3' } });
    const handler = bounded.handler(aiCoach);
    const userToken = await bounded.token(user.id);
    const first = (await (
      await handler(post('ai-coach', { message: 'turn one' }, userToken))
    ).json()) as {
      conversationId: string;
    };
    for (const message of ['turn two', 'turn three']) {
      const res = await handler(
        post('ai-coach', { message, conversationId: first.conversationId }, userToken),
      );
      expect(res.status).toBe(200);
    }
    const sent = mock.requests.at(-1)?.body.messages as { role: string; content: string }[];
    // system + the newest 3 stored turns + the new message
    expect(sent.map((m) => m.role)).toEqual(['system', 'assistant', 'user', 'assistant', 'user']);
    expect(sent.at(-1)?.content).toBe('turn three');
    expect(sent[2]?.content).toBe('turn two');
  });

  it('streams deltas, then ids and the provider usage, and traces the stream as completed', async () => {
    const res = await fx.handler(aiCoach)(
      post('ai-coach', { message: 'stream it', stream: true }, token),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await res.text());
    const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data.text);
    const done = events.at(-1);
    expect(deltas.length).toBeGreaterThan(3);
    expect(done?.event).toBe('done');
    const trace = await traceRow(done?.data.traceId);
    expect(trace?.output).toBe(deltas.join(''));
    expect(trace?.entity_id).toBe(done?.data.messageId);
    expect(trace?.metadata).toMatchObject({
      stream: true,
      stream_status: 'completed',
      usage_source: 'provider',
      input_tokens: (done?.data.usage as { inputTokens: number } | undefined)?.inputTokens,
    });
    expect(mock.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });
  });

  it('traces a stream the client aborts, flagged aborted, and stores no reply', async () => {
    mock.behavior.chunkDelayMs = 30;
    const res = await fx.handler(aiCoach)(
      post('ai-coach', { message: 'I will hang up', stream: true }, token),
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fx.settle();
    const [trace] = await db.sql`
      select * from public.langfuse_traces where input like '%I will hang up%'
    `;
    expect(trace?.metadata).toMatchObject({
      stream: true,
      stream_status: 'aborted',
      usage_source: 'estimated',
      status: 'success',
    });
    expect(trace?.output.length).toBeLessThan(60);
    const stored =
      await db.sql`select 1 from public.ai_coach_messages where content = 'I will hang up'`;
    expect(stored).toHaveLength(0);
  });

  it('marks usage as estimated when the provider sends none', async () => {
    mock.behavior.omitUsage = true;
    const res = await fx.handler(aiCoach)(post('ai-coach', { message: 'no usage here' }, token));
    const body = (await res.json()) as { traceId: string };
    const trace = await traceRow(body.traceId);
    expect(trace?.metadata).toMatchObject({ usage_source: 'estimated' });
    expect(trace?.metadata.input_tokens).toBeGreaterThan(0);
  });

  it('gives cost null, never 0, for a model without a price', async () => {
    // Budgets are tested on their own (budgets.test.ts): a cost limit would refuse this model.
    const unknown = await coachFixture({
      sql: db.sql,
      mock,
      env: { AI_COACH_MODEL: 'my-local-llama', BUDGETS: 'off' },
    });
    const res = await unknown.handler(aiCoach)(
      post('ai-coach', { message: 'hi' }, await unknown.token(user.id)),
    );
    const body = (await res.json()) as { traceId: string };
    await unknown.settle();
    const [trace] =
      await db.sql`select metadata from public.langfuse_traces where trace_id = ${body.traceId}`;
    expect(trace?.metadata.model).toBe('my-local-llama');
    expect(trace?.metadata.cost_usd).toBeNull();
    expect(trace?.metadata.input_tokens).toBeGreaterThan(0);
  });
});

describe('statements', () => {
  it('work the same with prepared statements (DB_PREPARE=true, a direct connection)', async () => {
    const prepared = await coachFixture({ sql: db.sql, mock, env: { DB_PREPARE: 'true' } });
    const conversationId = crypto.randomUUID();
    for (const message of ["It's day $l$ one", 'And day two']) {
      const res = await prepared.handler(aiCoach)(
        post('ai-coach', { message, conversationId }, await prepared.token(user.id)),
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ stored: true, conversationId });
    }
    await prepared.settle();
    const turns = await db.sql`
      select content from public.ai_coach_messages
      where conversation_id = ${conversationId} and role = 'user' order by created_at
    `;
    expect(turns.map((t) => t.content)).toEqual(["It's day $l$ one", 'And day two']);
    // The second call's prompt had the first turn in it: the context was read.
    expect(JSON.stringify(mock.requests.at(-1)?.body)).toContain("It's day $l$ one");
  });
});

describe('failed LLM calls', () => {
  it('answer 502 and are traced with their error and duration', async () => {
    mock.behavior.failure = { status: 500 };
    const res = await fx.handler(aiCoach)(post('ai-coach', { message: 'fail please' }, token));
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({
      error: {
        code: 'upstream_error',
        message: expect.any(String),
        details: { upstreamStatus: 500 },
      },
    });
    await fx.settle();
    const [trace] =
      await db.sql`select * from public.langfuse_traces where input like '%fail please%'`;
    expect(trace?.output).toBe('');
    expect(trace?.metadata).toMatchObject({
      status: 'error',
      usage_source: 'missing',
      input_tokens: null,
      cost_usd: null,
      error: { kind: 'upstream', status: 500 },
    });
    expect(trace?.metadata.latency_ms).toBeGreaterThanOrEqual(0);
    expect(
      await db.sql`select 1 from public.ai_coach_messages where content = 'fail please'`,
    ).toHaveLength(0);
  });

  it('answer 504 on a timeout, traced as a timeout', async () => {
    mock.behavior.hang = true;
    const res = await fx.handler(aiCoach)(post('ai-coach', { message: 'too slow' }, token));
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    await fx.settle();
    const [trace] =
      await db.sql`select metadata from public.langfuse_traces where input like '%too slow%'`;
    expect(trace?.metadata).toMatchObject({ status: 'error', error: { kind: 'timeout' } });
    expect(trace?.metadata.latency_ms).toBeGreaterThanOrEqual(1400);
  });

  it('retry 429 and 5xx, honouring Retry-After, before giving up', async () => {
    const retrying = await coachFixture({ sql: db.sql, mock, env: { LLM_MAX_RETRIES: '2' } });
    mock.behavior.failure = { status: 429, times: 2, retryAfterSeconds: 0 };
    const res = await retrying.handler(aiCoach)(
      post('ai-coach', { message: 'retry me' }, await retrying.token(user.id)),
    );
    expect(res.status).toBe(200);
    expect(mock.requests.filter((r) => JSON.stringify(r.body).includes('retry me'))).toHaveLength(
      3,
    );
  });

  it('send an error event when a stream breaks, and trace the partial output', async () => {
    mock.behavior.dropStreamAfterChunks = 4;
    const res = await fx.handler(aiCoach)(
      post('ai-coach', { message: 'break the stream', stream: true }, token),
    );
    const events = parseSse(await res.text());
    expect(events.at(-1)).toEqual({
      event: 'error',
      data: { error: { code: 'upstream_error', message: expect.any(String) } },
    });
    await fx.settle();
    const [trace] =
      await db.sql`select output, metadata from public.langfuse_traces where input like '%break the stream%'`;
    expect(trace?.metadata).toMatchObject({ status: 'error', stream: true });
    expect(trace?.output.length).toBeGreaterThan(0);
  });

  it('has the reply, its trace and the link stored together before it answers', async () => {
    const res = await fx.handler(aiCoach)(post('ai-coach', { message: 'together' }, token));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { messageId: string; traceId: string };
    // No settle(): nothing is left in the background on the success path.
    const [row] = await db.sql`
      select t.entity_id, m.langfuse_trace_id from public.langfuse_traces t
      join public.ai_coach_messages m on m.id = t.entity_id
      where t.trace_id = ${body.traceId}
    `;
    expect(row).toEqual({ entity_id: body.messageId, langfuse_trace_id: body.traceId });
  });

  it('never fail the user when the trace cannot be written, and log it', async () => {
    // Make every trace insert fail, as an outage of that table would.
    await db.sql.unsafe(`
      create function public.refuse_trace() returns trigger language plpgsql as $$
      begin raise exception 'traces are down'; end $$;
      create trigger refuse_trace before insert on public.langfuse_traces
        for each row when (new.input like '%no trace for me%') execute function public.refuse_trace();
    `);
    try {
      const res = await fx.handler(aiCoach)(
        post('ai-coach', { message: 'no trace for me' }, token),
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { messageId: string };
      const [reply] =
        await db.sql`select langfuse_trace_id from public.ai_coach_messages where id = ${body.messageId}`;
      await fx.settle();
      expect(reply).toEqual({ langfuse_trace_id: null });
      const turns = await db.sql`
        select role from public.ai_coach_messages where content = 'no trace for me'
      `;
      expect(turns).toHaveLength(1);
      expect(fx.logs).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          msg: 'reply and trace not stored together; storing the reply alone',
        }),
      );
      expect(fx.logs).toContainEqual(
        expect.objectContaining({
          level: 'error',
          msg: 'call not recorded',
          record: expect.objectContaining({
            trace: expect.objectContaining({
              output: expect.any(String),
              metadata: expect.any(Object),
            }),
          }),
        }),
      );
    } finally {
      await db.sql.unsafe(
        'drop trigger refuse_trace on public.langfuse_traces; drop function public.refuse_trace()',
      );
    }
  });

  it('answer 401, not 500, for a valid token whose user was deleted', async () => {
    const ghost = await fx.token('00000000-0000-4000-8000-000000000000');
    const res = await fx.handler(aiCoach)(post('ai-coach', { message: 'ghost' }, ghost));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      error: { code: 'unauthorized', details: { reason: 'USER_NOT_FOUND' } },
    });
  });
});

describe('the other coach endpoints', () => {
  it('encouragement stores the coach message with its trace link', async () => {
    const res = await fx.handler(encouragement)(
      post('encouragement', { context: 'exam week' }, token),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { encouragementId: string; traceId: string; reply: string };
    const [row] =
      await db.sql`select body from public.encouragement_messages where id = ${body.encouragementId}`;
    expect(row).toEqual({ body: body.reply });
    const trace = await traceRow(body.traceId);
    expect(trace).toMatchObject({
      entity_type: 'encouragement_message',
      entity_id: body.encouragementId,
      tags: ['encouragement', 'openai'],
    });
    const [linked] =
      await db.sql`select langfuse_trace_id from public.encouragement_messages where id = ${body.encouragementId}`;
    expect(linked?.langfuse_trace_id).toBe(body.traceId);
  });

  it('encouragement writes from the newest three logged days', async () => {
    const walker = await insertUser(db.sql);
    await db.sql`
      insert into public.daily_statuses
        (user_id, status_date, mood, mission, mission_completed, mission_completed_at)
      values
        (${walker.id}, '2026-11-01', 2, 'walk 5 minutes', false, null),
        (${walker.id}, '2026-11-02', 3, 'walk 10 minutes', true, '2026-11-02T18:00:00Z'),
        (${walker.id}, '2026-11-03', 4, 'walk 15 minutes', true, '2026-11-03T18:00:00Z'),
        (${walker.id}, '2026-11-04', 5, 'walk 20 minutes', false, null)
    `;
    const res = await fx.handler(encouragement)(
      post('encouragement', {}, await fx.token(walker.id)),
    );
    expect(res.status).toBe(200);
    const sent = mock.requests.at(-1)?.body.messages as { role: string; content: string }[];
    const prompt = sent.at(-1)?.content ?? '';
    expect(prompt).toContain(
      [
        '2026-11-04: mood 5/5, mission "walk 20 minutes"',
        '2026-11-03: mood 4/5, mission "walk 15 minutes" (completed)',
        '2026-11-02: mood 3/5, mission "walk 10 minutes" (completed)',
      ].join('\n'),
    );
    expect(prompt).not.toContain('2026-11-01');
  });

  it('reflection stores the reflection with the coach reply', async () => {
    const res = await fx.handler(reflection)(
      post('reflection', { body: 'I ran twice this week.' }, token),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { reflectionId: string; traceId: string; reply: string };
    await fx.settle();
    const [row] =
      await db.sql`select body, coach_reply, langfuse_trace_id from public.reflections where id = ${body.reflectionId}`;
    expect(row).toEqual({
      body: 'I ran twice this week.',
      coach_reply: body.reply,
      langfuse_trace_id: body.traceId,
    });
  });

  it('daily-status upserts the day and traces the existing row on a second post', async () => {
    const handler = fx.handler(dailyStatus);
    // Yesterday in UTC, the user's time zone: one of their recent days.
    const date = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const first = (await (
      await handler(post('daily-status', { date, mood: 3, mission: 'Walk 20 minutes' }, token))
    ).json()) as Record<string, string>;
    const second = (await (
      await handler(post('daily-status', { date, missionCompleted: true }, token))
    ).json()) as Record<string, string>;
    expect(first).toMatchObject({ date, stored: true });
    expect(second.dailyStatusId).toBe(first.dailyStatusId);
    const [row] =
      await db.sql`select mood, mission, mission_completed, mission_completed_at, coach_comment from public.daily_statuses where id = ${String(first.dailyStatusId)}`;
    expect(row).toMatchObject({
      mood: 3,
      mission: 'Walk 20 minutes',
      mission_completed: true,
      coach_comment: second.reply,
    });
    expect(row?.mission_completed_at).toBeInstanceOf(Date);
    const trace = await traceRow(second.traceId);
    expect(trace).toMatchObject({ entity_type: 'daily_status', entity_id: first.dailyStatusId });
  });
});

describe('PII redaction', () => {
  it('is off by default, and when on keeps emails and phone numbers out of traces but not out of messages', async () => {
    const text = 'Mail me at jane.doe@example.com or call +81 90-1234-5678, thanks';
    const plain = (await (
      await fx.handler(aiCoach)(post('ai-coach', { message: text }, token))
    ).json()) as {
      traceId: string;
    };
    expect((await traceRow(plain.traceId))?.input).toContain('jane.doe@example.com');

    const redacting = await coachFixture({
      sql: db.sql,
      mock,
      env: { PII_REDACTION: 'on', PII_PATTERNS: JSON.stringify(['ticket-\\d+']) },
    });
    const res = await redacting.handler(aiCoach)(
      post('ai-coach', { message: `${text} ticket-42` }, await redacting.token(user.id)),
    );
    const body = (await res.json()) as { traceId: string; conversationId: string };
    await redacting.settle();
    const [trace] =
      await db.sql`select input, output from public.langfuse_traces where trace_id = ${body.traceId}`;
    for (const secret of ['jane.doe@example.com', '1234-5678', 'ticket-42'])
      expect(trace?.input).not.toContain(secret);
    for (const mark of ['[REDACTED:email]', '[REDACTED:phone]', '[REDACTED:custom]'])
      expect(trace?.input).toContain(mark);
    expect(trace?.output).toContain('[REDACTED:email]');
    const [message] = await db.sql`
      select content from public.ai_coach_messages where conversation_id = ${body.conversationId} and role = 'user'
    `;
    expect(message?.content).toContain('jane.doe@example.com');
  });
});

describe('the Anthropic provider', () => {
  it('answers and streams through the Anthropic SDK with the provider usage', async () => {
    const claude = await coachFixture({ sql: db.sql, mock, provider: 'anthropic' });
    const claudeToken = await claude.token(user.id);
    const res = await claude.handler(aiCoach)(
      post('ai-coach', { message: 'hello claude' }, claudeToken),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { traceId: string; usage: { inputTokens: number } };
    expect(mock.requests.at(-1)?.protocol).toBe('anthropic');
    const streamed = parseSse(
      await (
        await claude.handler(aiCoach)(
          post('ai-coach', { message: 'stream claude', stream: true }, claudeToken),
        )
      ).text(),
    );
    expect(streamed.at(-1)?.event).toBe('done');
    await claude.settle();
    const [trace] =
      await db.sql`select tags, metadata from public.langfuse_traces where trace_id = ${body.traceId}`;
    expect(trace?.tags).toEqual(['ai-coach', 'anthropic']);
    expect(trace?.metadata).toMatchObject({
      provider: 'anthropic',
      model: 'claude-3-5-haiku-latest',
      usage_source: 'provider',
      input_tokens: body.usage.inputTokens,
    });
    expect(trace?.metadata.cost_usd).toBeGreaterThan(0);
  });
});
