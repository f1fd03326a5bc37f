/**
 * The benchmark's ai-coach-fetch reference (bench/deno/coach-fetch.ts),
 * run by Deno on a migrated database and the mock LLM: it must be ai-coach as
 * deployed (JWT, rate limit, budget, reply and trace stored) with only the
 * LLM's client changed, or "what the SDK costs ai-coach" measures something else.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AiCoachBenchServer,
  startAiCoachBenchServer,
} from '../../bench/lib/ai-coach-bench-server.ts';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { projectRoot } from '../../local/tooling/project.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let mock: MockLlm;
let server: AiCoachBenchServer;

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  server = await startAiCoachBenchServer(db.url, {
    llmBaseUrl: mock.openaiBaseUrl,
    env: {},
    users: 2,
    script: join(projectRoot, 'bench', 'deno', 'coach-fetch.ts'),
  });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await mock?.stop();
  await db?.drop();
});

function post(token: string | undefined, body: unknown) {
  return fetch(`${server.server.url}/functions/v1/ai-coach`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
}

describe('the ai-coach-fetch reference of the benchmark', () => {
  it('answers as ai-coach and stores the reply, its trace and the budget settlement', async () => {
    mock.reset();
    const res = await post(server.tokens[0], { message: 'I keep skipping my morning run.' });
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-policy')).toContain('"ai-coach"');
    const answer = (await res.json()) as { reply: string; traceId: string; stored: boolean };
    expect(answer.stored).toBe(true);

    // The LLM was asked once, over the wire format the SDK would use, system prompt first.
    expect(mock.requests).toHaveLength(1);
    const sent = mock.requests[0]?.body as { messages: { role: string; content: string }[] };
    expect(sent.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(sent.messages[1]?.content).toBe('I keep skipping my morning run.');

    const [trace] = await db.sql<
      { status: string; provider: string; output: string; input_tokens: number }[]
    >`
      select status, provider, output, input_tokens from public.langfuse_traces
      where trace_id = ${answer.traceId}
    `;
    expect(trace).toMatchObject({ status: 'success', provider: 'openai', output: answer.reply });
    expect(trace?.input_tokens).toBeGreaterThan(0);
    const [reply] = await db.sql<{ role: string; content: string }[]>`
      select role, content from public.ai_coach_messages where langfuse_trace_id = ${answer.traceId}
    `;
    expect(reply).toEqual({ role: 'assistant', content: answer.reply });
    const [budget] = await db.sql<{ tokens_reserved: string; tokens_used: string }[]>`
      select tokens_reserved::text, tokens_used::text from public.budget_usage
      where user_id = (select user_id from public.langfuse_traces where trace_id = ${answer.traceId})
    `;
    // Settled: what the call used, nothing left reserved.
    expect(budget?.tokens_reserved).toBe('0');
    expect(Number(budget?.tokens_used)).toBeGreaterThan(0);
  });

  it('verifies the JWT before anything else, as ai-coach does', async () => {
    mock.reset();
    const res = await post(undefined, { message: 'hello' });
    expect(res.status).toBe(401);
    expect(mock.requests).toHaveLength(0);
  });
});
