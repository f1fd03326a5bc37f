/**
 * The benchmark's floor server (bench/deno/floor.ts), run by Deno on
 * a migrated database and the mock LLM: each of its routes must do what the
 * benchmark says it measures, or the budgets' and the peer's comparisons
 * compare something else.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchBudgetCpu } from '../../bench/budget-cpu.ts';
import { benchUsers } from '../../bench/lib/bench-users.ts';
import { freePort } from '../../local/free-port.ts';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import {
  type FunctionsServer,
  startFunctionsServer,
} from '../../local/tooling/functions-server.ts';
import { projectRoot } from '../../local/tooling/project.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let mock: MockLlm;
let server: FunctionsServer;
let users: string[];

const LLM_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'I keep skipping my morning run.' }],
  max_completion_tokens: 600,
});

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  users = await benchUsers(db.url, 5);
  server = await startFunctionsServer({
    port: await freePort(),
    script: join(projectRoot, 'bench', 'deno', 'floor.ts'),
    env: {
      SUPABASE_DB_URL: db.url,
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      BENCH_USER_IDS: users.join(','),
    },
    onLog: () => {},
  });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await mock?.stop();
  await db?.drop();
});

async function post(path: string, client: number) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-bench-client': String(client) },
    body: LLM_BODY,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** What a call left in the user's rows: traces, budget windows, the minimal budget's counter. */
async function rowsOf(userId: string) {
  const [traces] = await db.sql<{ count: number }[]>`
    select count(*)::int as count from public.langfuse_traces where user_id = ${userId}
  `;
  const budget = await db.sql<
    { window_kind: string; tokens_used: string; tokens_reserved: string }[]
  >`
    select window_kind, tokens_used::text, tokens_reserved::text from public.budget_usage
    where user_id = ${userId} order by window_kind
  `;
  const [counter] = await db.sql<{ request_count: number }[]>`
    select request_count from public.rate_limit_logs
    where user_id = ${userId} and endpoint = 'bench-budget-floor'
  `;
  return { traces: traces?.count, budget, counter: counter?.request_count ?? null };
}

describe('the floor server of the benchmark', () => {
  it('proxies to the LLM alone on /proxy', async () => {
    const answer = await post('/proxy', 0);
    expect(answer.status).toBe(200);
    expect(answer.body.text).toEqual(expect.stringContaining('morning run'));
    expect(await rowsOf(users[0] as string)).toEqual({ traces: 0, budget: [], counter: null });
  });

  it('stores the reply and trace and settles the budget as deployed on /floor', async () => {
    const answer = await post('/floor', 1);
    expect(answer.status).toBe(200);
    const rows = await rowsOf(users[1] as string);
    expect(rows.traces).toBe(1);
    expect(rows.counter).toBeNull();
    // Reserved before the call, replaced by what it used (60 tokens) after.
    expect(rows.budget).toEqual([{ window_kind: 'day', tokens_used: '60', tokens_reserved: '0' }]);
  });

  it('stores the reply and trace without any budget on /floor-no-budget', async () => {
    const answer = await post('/floor-no-budget', 2);
    expect(answer.status).toBe(200);
    expect(await rowsOf(users[2] as string)).toEqual({ traces: 1, budget: [], counter: null });
  });

  it('writes one row of the user twice, at reserve and at settle, on /floor-min-budget', async () => {
    for (let call = 1; call <= 2; call += 1) {
      const answer = await post('/floor-min-budget', 3);
      expect(answer.status).toBe(200);
      expect(await rowsOf(users[3] as string)).toEqual({
        traces: call,
        budget: [],
        counter: 2 * call,
      });
    }
  });

  it('calls the LLM through the SDK with the system prompt, and stores and settles as /floor, on /floor-sdk', async () => {
    mock.reset();
    const answer = await post('/floor-sdk', 4);
    expect(answer.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
    const sent = mock.requests[0]?.body as { messages: { role: string; content: string }[] };
    expect(sent.messages.map((message) => message.role)).toEqual(['system', 'user']);
    expect(sent.messages[0]?.content).toContain('personal coach');
    const rows = await rowsOf(users[4] as string);
    expect(rows.traces).toBe(1);
    expect(rows.budget).toEqual([{ window_kind: 'day', tokens_used: '60', tokens_reserved: '0' }]);
  });

  it('measures the same statements one call at a time in the budget-cpu part, settling what it reserves', async () => {
    const result = await benchBudgetCpu(db.url, 1);
    expect(result.rows.map((row) => [row.budget, row.calls])).toEqual([
      ['as-deployed', 50],
      ['none', 50],
      ['minimal', 50],
    ]);
    expect(result.rows.find((row) => row.budget === 'none')?.addedCpuMs).toBe(0);
    for (const row of result.rows) expect(row.wallMs).toBeGreaterThan(0);
    // benchUsers(…, 1) is users[0]: its as-deployed calls (150 with the warm-up) all settled.
    const [day] = await db.sql<{ reserved: string; used: string }[]>`
      select tokens_reserved::text as reserved, tokens_used::text as used
      from public.budget_usage where user_id = ${users[0] as string}
    `;
    expect(day).toEqual({ reserved: '0', used: String(150 * 60) });
  });
});
