/**
 * Every error class a client can cause, answered as JSON with a stable code,
 * and never a 500; plus CORS, health and the routing rules.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { dailyStatus } from '../../supabase/functions/_shared/coach/kinds/daily-status.ts';
import { createHealthHandler } from '../../supabase/functions/_shared/health.ts';
import { type CoachFixture, coachFixture, post } from '../support/coach-fixture.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { badTokens, signUserToken } from '../support/tokens.ts';

let db: TestDatabase;
let mock: MockLlm;
let fx: CoachFixture;
let user: TestUser;
let token: string;
let coach: (req: Request) => Promise<Response>;

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  fx = await coachFixture({ sql: db.sql, mock, env: { RATE_LIMIT_AI_COACH: '1000/60s' } });
  user = await insertUser(db.sql);
  token = await fx.token(user.id);
  coach = fx.handler(aiCoach);
});
afterAll(async () => {
  await mock?.stop();
  await db?.drop();
});
beforeEach(() => mock.reset());

async function errorOf(
  res: Response,
): Promise<{ status: number; code: string; body: Record<string, unknown> }> {
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as { error: { code: string } };
  return { status: res.status, code: body.error.code, body: body.error };
}

describe('401: who are you', () => {
  it('refuses a request without a token', async () => {
    const res = await coach(post('ai-coach', { message: 'hi' }));
    expect(await errorOf(res)).toMatchObject({
      status: 401,
      code: 'unauthorized',
      body: { details: { reason: 'MISSING_CREDENTIALS' } },
    });
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('refuses expired, forged, unsigned (alg none), tampered, foreign and non-user tokens', async () => {
    const tokens = await badTokens(fx.keys, user.id);
    expect(Object.keys(tokens).length).toBeGreaterThanOrEqual(8);
    for (const [name, bad] of Object.entries(tokens)) {
      const res = await coach(post('ai-coach', { message: 'hi' }, bad));
      expect({ name, ...(await errorOf(res)) }).toMatchObject({
        name,
        status: 401,
        code: 'unauthorized',
      });
    }
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', `Bearer ${fx.keys.publishableKey}`]) {
      const res = await coach(
        post('ai-coach', { message: 'hi' }, undefined, { authorization: header }),
      );
      expect(res.status).toBe(401);
    }
    expect(mock.requests).toHaveLength(0);
  });

  it('stops accepting a token once it expires, though it was accepted before', async () => {
    const shortLived = await signUserToken(fx.keys, { sub: user.id, ttlSeconds: 2 });
    expect((await coach(post('ai-coach', { message: 'quick' }, shortLived))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const late = await coach(post('ai-coach', { message: 'late' }, shortLived));
    expect(await errorOf(late)).toMatchObject({
      status: 401,
      body: { details: { reason: 'INVALID_JWT' } },
    });
  });

  it('checks the token before reading the body', async () => {
    const res = await coach(post('ai-coach', '{not json'));
    expect(res.status).toBe(401);
  });
});

describe('400, 413 and 415: what did you send', () => {
  it('refuses a body that is not JSON', async () => {
    expect(await errorOf(await coach(post('ai-coach', '{"message": ', token)))).toMatchObject({
      status: 400,
      code: 'invalid_json',
    });
  });

  it.each([
    ['no message', {}],
    ['an empty message', { message: '   ' }],
    ['a message over 4000 characters', { message: 'x'.repeat(4001) }],
    ['a message that is not a string', { message: 42 }],
    ['a conversationId that is not a uuid', { message: 'hi', conversationId: 'abc' }],
    ['stream that is not a boolean', { message: 'hi', stream: 'yes' }],
    ['an unknown field', { message: 'hi', admin: true }],
    ['an array', [1, 2]],
    ['null', null],
  ])('refuses %s with the zod issues', async (_, body) => {
    const {
      status,
      code,
      body: error,
    } = await errorOf(await coach(post('ai-coach', JSON.stringify(body), token)));
    expect({ status, code }).toEqual({ status: 400, code: 'invalid_request' });
    expect((error.details as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    expect(mock.requests).toHaveLength(0);
  });

  it('accepts exactly 4000 characters', async () => {
    const res = await coach(post('ai-coach', { message: 'x'.repeat(4000) }, token));
    expect(res.status).toBe(200);
  });

  it('refuses a body over the cap, declared or streamed', async () => {
    const big = JSON.stringify({ message: 'x'.repeat(40_000) });
    expect(await errorOf(await coach(post('ai-coach', big, token)))).toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 40; i += 1)
          controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
        controller.close();
      },
    });
    const streamed = new Request('http://127.0.0.1/functions/v1/ai-coach', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(await errorOf(await coach(streamed))).toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
  });

  it('refuses a body that is not JSON by its content type', async () => {
    const res = await coach(
      post('ai-coach', 'message=hi', token, {
        'content-type': 'application/x-www-form-urlencoded',
      }),
    );
    expect(await errorOf(res)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('validates the other kinds too', async () => {
    const daily = fx.handler(dailyStatus);
    expect((await errorOf(await daily(post('daily-status', {}, token)))).status).toBe(400);
    expect((await errorOf(await daily(post('daily-status', { mood: 9 }, token)))).status).toBe(400);
    expect(
      (await errorOf(await daily(post('daily-status', { date: '2026-13-01', mood: 3 }, token))))
        .status,
    ).toBe(400);
  });

  it('never answers 500 to garbage', async () => {
    const garbage = [
      '',
      ' ',
      '"string"',
      '0',
      'true',
      '{"message":{"$gt":""}}',
      '\u0000',
      '{"message":"\\ud800"}',
      '[]'.repeat(1000),
      '{'.repeat(5000),
    ];
    for (const body of garbage) {
      const res = await coach(post('ai-coach', body, token));
      expect(res.status, JSON.stringify(body).slice(0, 40)).toBeLessThan(500);
      await res.body?.cancel();
    }
  });
});

describe('routing and CORS', () => {
  it('answers 405 with Allow for the wrong method, 404 for an unknown path', async () => {
    const get = await coach(
      new Request('http://127.0.0.1/functions/v1/ai-coach', {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(await errorOf(get)).toMatchObject({ status: 405, code: 'method_not_allowed' });
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
    const unknown = await coach(post('ai-coach/admin', { message: 'hi' }, token));
    expect(await errorOf(unknown)).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('answers preflights with the headers supabase-js sends and exposes the rate-limit headers', async () => {
    const res = await coach(
      new Request('http://127.0.0.1/functions/v1/ai-coach', { method: 'OPTIONS' }),
    );
    expect(res.status).toBe(204);
    const allowed = res.headers.get('access-control-allow-headers') ?? '';
    for (const header of ['authorization', 'x-client-info', 'apikey', 'content-type'])
      expect(allowed).toContain(header);
    const exposed = res.headers.get('access-control-expose-headers') ?? '';
    for (const header of ['retry-after', 'ratelimit', 'ratelimit-policy', 'x-ratelimit-remaining'])
      expect(exposed).toContain(header);
    const ok = await coach(post('ai-coach', { message: 'cors' }, token));
    expect(ok.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('answers 503 when no LLM is configured', async () => {
    const bare = await coachFixture({
      sql: db.sql,
      mock,
      env: { LLM_PROVIDER: '', OPENAI_API_KEY: '' },
    });
    const res = await bare.handler(aiCoach)(
      post('ai-coach', { message: 'hi' }, await bare.token(user.id)),
    );
    expect(await errorOf(res)).toMatchObject({ status: 503, code: 'service_unavailable' });
  });
});

describe('health', () => {
  it('reports the database and the time, without auth', async () => {
    const health = createHealthHandler({ sql: db.sql, clock: fx.clock, log: () => {} });
    const res = await health(new Request('http://127.0.0.1/functions/v1/health'));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; db: string; time: string };
    expect(body).toEqual({ status: 'ok', db: 'ok', time: expect.any(String) });
    expect(Math.abs(Date.parse(body.time) - Date.now())).toBeLessThan(60_000);
    expect((await health(post('health', {}))).status).toBe(405);
  });

  it('says db: error when Postgres cannot be reached', async () => {
    const dead = postgres('postgresql://postgres:postgres@127.0.0.1:9/postgres', {
      connect_timeout: 1,
      max: 1,
    });
    try {
      const res = await createHealthHandler({ sql: dead, clock: fx.clock, log: () => {} })(
        new Request('http://127.0.0.1/functions/v1/health'),
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', db: 'error' });
    } finally {
      await dead.end({ timeout: 0 });
    }
  });
});
