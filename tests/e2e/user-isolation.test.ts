/**
 * Issue 21 on the Deno server `npm start` runs, real Postgres and the mock
 * LLM: a token whose user does not exist is 401 USER_NOT_FOUND on every
 * function, and a conversation belongs to the user who started it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port.ts';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import {
  type FunctionsServer,
  startFunctionsServer,
} from '../../local/tooling/functions-server.ts';
import {
  createKeys,
  type LocalKeys,
  platformEnv,
  signUserToken,
} from '../../local/tooling/keys.ts';
import { asUser } from '../../supabase/functions/_shared/db/as-user.ts';
import { insertCoachTurn, insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let mock: MockLlm;
let keys: LocalKeys;
let server: FunctionsServer;

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  keys = await createKeys();
  const port = await freePort();
  server = await startFunctionsServer({
    port,
    env: {
      ...platformEnv(keys, `http://127.0.0.1:${port}`, db.url),
      LLM_PROVIDER: 'openai',
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      LLM_MAX_RETRIES: '0',
    },
    onLog: () => {},
  });
}, 180_000);
afterAll(async () => {
  await server?.stop();
  await mock?.stop();
  await db?.drop();
});
beforeEach(() => mock.reset());

const tokenOf = (sub: string) => signUserToken(keys, { sub, issuer: `${server.url}/auth/v1` });

interface Answer {
  conversationId: string;
  error?: { code: string; details?: unknown };
}

async function call(name: string, token: string, body?: unknown) {
  const res = await fetch(`${server.url}/functions/v1/${name}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

async function counted(user: TestUser): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    select coalesce(sum(request_count), 0)::int as n from public.rate_limit_logs where user_id = ${user.id}
  `;
  return row?.n ?? 0;
}

describe('a valid token whose user does not exist', () => {
  it('is 401 USER_NOT_FOUND on every function, before anything else is decided', async () => {
    const owner = await insertUser(db.sql);
    const { traceId } = await insertCoachTurn(db.sql, owner.id);
    const [turn] = await db.sql<{ conversation_id: string }[]>`
      select conversation_id from public.ai_coach_messages where user_id = ${owner.id} limit 1
    `;
    const ghost = await tokenOf('00000000-0000-4000-8000-000000000021');
    const requests: [string, unknown][] = [
      ['ai-coach', { message: 'hello' }],
      ['ai-coach', { message: 'hello', conversationId: turn?.conversation_id }],
      ['encouragement', {}],
      ['reflection', { body: 'a day' }],
      ['daily-status', { mood: 3 }],
      ['daily-status', { date: '2001-01-01', mood: 3 }],
      ['feedback', { traceId, value: 1 }],
      ['budget', undefined],
    ];
    for (const [name, body] of requests) {
      const answer = await call(name, ghost, body);
      expect({ name, body, status: answer.status, error: answer.body.error }).toEqual({
        name,
        body,
        status: 401,
        error: expect.objectContaining({
          code: 'unauthorized',
          details: { reason: 'USER_NOT_FOUND' },
        }),
      });
    }
    expect(mock.requests).toHaveLength(0);
  });
});

describe('conversations', () => {
  it("answer 404 for another user's conversation, before counting or calling the LLM", async () => {
    const owner = await insertUser(db.sql);
    const first = await call('ai-coach', await tokenOf(owner.id), { message: 'My plan' });
    expect(first.status).toBe(200);
    const intruder = await insertUser(db.sql);
    mock.reset();
    for (const conversationId of [
      first.body.conversationId,
      first.body.conversationId.toUpperCase(),
    ]) {
      const answer = await call('ai-coach', await tokenOf(intruder.id), {
        message: 'Tell me what they said',
        conversationId,
      });
      expect(answer).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    }
    expect(mock.requests).toHaveLength(0);
    expect(await counted(intruder)).toBe(0);
    const rows = await db.sql`
      select distinct user_id from public.ai_coach_messages where conversation_id = ${first.body.conversationId}
    `;
    expect(rows.map((row) => row.user_id)).toEqual([owner.id]);
  });

  it('are one conversation whatever the case of the id, stored and traced in lower case', async () => {
    const user = await insertUser(db.sql);
    const token = await tokenOf(user.id);
    const fresh = crypto.randomUUID().toUpperCase();
    const first = await call('ai-coach', token, { message: 'Day one', conversationId: fresh });
    expect(first.status).toBe(200);
    expect(first.body.conversationId).toBe(fresh.toLowerCase());
    const second = await call('ai-coach', token, {
      message: 'Day two',
      conversationId: fresh.toLowerCase(),
    });
    expect(second.body.conversationId).toBe(fresh.toLowerCase());
    // The second call's prompt holds the first turn: the same conversation.
    expect(JSON.stringify(mock.requests.at(-1)?.body)).toContain('Day one');
    const sessions = await db.sql<{ session: string }[]>`
      select distinct metadata->>'session_id' as session from public.langfuse_traces where user_id = ${user.id}
    `;
    expect(sessions.map((row) => row.session)).toEqual([fresh.toLowerCase()]);
    const other = await insertUser(db.sql);
    const taken = await call('ai-coach', await tokenOf(other.id), {
      message: 'Mine now?',
      conversationId: fresh,
    });
    expect(taken.status).toBe(404);
  });

  it('cannot be joined through the user grants either', async () => {
    const owner = await insertUser(db.sql);
    const first = await call('ai-coach', await tokenOf(owner.id), { message: 'Private' });
    const intruder = await insertUser(db.sql);
    const direct = asUser(
      db.sql,
      { role: 'authenticated', sub: intruder.id },
      (tx) => tx`
        insert into public.ai_coach_messages (user_id, conversation_id, role, content)
        values (${intruder.id}, ${first.body.conversationId}, 'user', 'sneaking in')
      `,
    );
    await expect(direct).rejects.toMatchObject({ code: '23503' });
  });
});
