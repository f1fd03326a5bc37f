/**
 * POST /feedback: the user's score on a coach answer, written as the user so
 * RLS decides; repeated feedback replaces the value and re-queues the score.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformEnv } from '../../local/tooling/keys.ts';
import { authEnvFrom, createAuthenticator } from '../../supabase/functions/_shared/auth.ts';
import { systemClock } from '../../supabase/functions/_shared/coach/deps.ts';
import { loadConfig } from '../../supabase/functions/_shared/config.ts';
import { createFeedbackHandler } from '../../supabase/functions/_shared/feedback.ts';
import { post } from '../support/coach-fixture.ts';
import { insertCoachTurn, insertUser, type TestTrace, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { createKeys, type LocalKeys, signUserToken } from '../support/tokens.ts';

let db: TestDatabase;
let keys: LocalKeys;
let feedback: (req: Request) => Promise<Response>;
let alice: TestUser;
let bob: TestUser;
let aliceTrace: TestTrace;
let aliceToken: string;
let bobToken: string;

beforeAll(async () => {
  db = await createTestDatabase();
  keys = await createKeys();
  feedback = createFeedbackHandler({
    sql: db.sql,
    auth: createAuthenticator(authEnvFrom(platformEnv(keys, 'http://127.0.0.1:54321', 'unused'))),
    log: () => {},
    config: loadConfig({ RATE_LIMIT_FEEDBACK: '1000/60s' }),
    clock: systemClock,
  });
  alice = await insertUser(db.sql);
  bob = await insertUser(db.sql);
  aliceTrace = await insertCoachTurn(db.sql, alice.id);
  aliceToken = await signUserToken(keys, { sub: alice.id });
  bobToken = await signUserToken(keys, { sub: bob.id });
});
afterAll(() => db?.drop());

async function send(body: unknown, token?: string) {
  const res = await feedback(post('feedback', body, token));
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { error?: { code: string } },
  };
}

async function scoresOf(traceId: string) {
  return db.sql`
    select id, score_name, value::int as value, comment, status, sent_at, attempts
    from public.langfuse_scores where trace_id = ${traceId} order by score_name
  `;
}

describe('feedback', () => {
  it('creates a pending user_feedback score on the user own trace (201)', async () => {
    const res = await send(
      { traceId: aliceTrace.traceId, value: 1, comment: 'Helpful' },
      aliceToken,
    );
    expect(res).toEqual({
      status: 201,
      body: {
        scoreId: expect.any(String),
        traceId: aliceTrace.traceId,
        value: 1,
        status: 'pending',
      },
    });
    expect(await scoresOf(aliceTrace.traceId)).toEqual([
      {
        id: res.body.scoreId,
        score_name: 'user_feedback',
        value: 1,
        comment: 'Helpful',
        status: 'pending',
        sent_at: null,
        attempts: 0,
      },
    ]);
  });

  it('replaces the value on repeated feedback, even after it was sent, and re-queues it (200)', async () => {
    const [before] = await scoresOf(aliceTrace.traceId);
    await db.sql`update public.langfuse_scores set status = 'sent', sent_at = now(), attempts = 1 where id = ${before?.id}`;
    const res = await send(
      { traceId: aliceTrace.traceId, value: 0, comment: 'Actually not' },
      aliceToken,
    );
    expect(res.status).toBe(200);
    expect(res.body.scoreId).toBe(before?.id);
    expect(await scoresOf(aliceTrace.traceId)).toEqual([
      {
        id: before?.id,
        score_name: 'user_feedback',
        value: 0,
        comment: 'Actually not',
        status: 'pending',
        sent_at: null,
        attempts: 0,
      },
    ]);
  });

  it("answers 404 for another user's trace and for an unknown one, alike", async () => {
    const foreign = await send({ traceId: aliceTrace.traceId, value: 1 }, bobToken);
    const unknown = await send({ traceId: crypto.randomUUID(), value: 1 }, bobToken);
    expect(foreign.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(foreign.body.error?.code).toBe('not_found');
    expect(Object.keys(foreign.body.error ?? {})).toEqual(Object.keys(unknown.body.error ?? {}));
    const [score] = await scoresOf(aliceTrace.traceId);
    expect(score?.value).toBe(0);
  });

  it.each([
    ['a value that is not 0 or 1', { value: 2 }],
    ['a string value', { value: '1' }],
    ['a comment over 1000 characters', { value: 1, comment: 'x'.repeat(1001) }],
    ['a traceId that is not a uuid', { value: 1, traceId: 'abc' }],
    ['another score name', { value: 1, scoreName: 'mission_completed' }],
    ['a status', { value: 1, status: 'sent' }],
  ])('refuses %s with 400', async (_, body) => {
    const res = await send({ traceId: aliceTrace.traceId, ...body }, aliceToken);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('invalid_request');
  });

  it('needs a user token', async () => {
    expect((await send({ traceId: aliceTrace.traceId, value: 1 })).status).toBe(401);
  });

  it('never lets a user write another score name, even straight through the database', async () => {
    const { traceId } = await insertCoachTurn(db.sql, bob.id);
    await db.sql`insert into public.langfuse_scores (trace_id, score_name, value) values (${traceId}, 'mission_completed', 0)`;
    const res = await send({ traceId, value: 1 }, bobToken);
    expect(res.status).toBe(201);
    expect((await scoresOf(traceId)).map((s) => [s.score_name, s.value])).toEqual([
      ['mission_completed', 0],
      ['user_feedback', 1],
    ]);
  });
});
