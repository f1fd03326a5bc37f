/** Seed 004's ON DELETE rules, exercised: users cascade, traces set app links to null. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCoachTurn, insertScore, insertUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

async function countFor(userId: string) {
  const [row] = await db.sql<Record<string, number>[]>`
    select
      (select count(*)::int from public.langfuse_traces where user_id = ${userId}) as traces,
      (select count(*)::int from public.langfuse_scores s
         where not exists (select 1 from public.langfuse_traces t where t.trace_id = s.trace_id)) as orphan_scores,
      (select count(*)::int from public.langfuse_scores s join public.langfuse_traces t using (trace_id)
         where t.user_id = ${userId}) as scores,
      (select count(*)::int from public.ai_coach_messages where user_id = ${userId}) as messages,
      (select count(*)::int from public.rate_limit_logs where user_id = ${userId}) as windows
  `;
  return row;
}

describe('deleting a user', () => {
  it('deletes their traces, scores, messages and rate-limit windows, and nobody else’s', async () => {
    const doomed = await insertUser(db.sql);
    const survivor = await insertUser(db.sql);
    for (const user of [doomed, survivor]) {
      const { traceId } = await insertCoachTurn(db.sql, user.id);
      await insertScore(db.sql, traceId);
      await db.sql`
        insert into public.rate_limit_logs (user_id, endpoint, window_start)
        values (${user.id}, 'ai-coach', now())
      `;
    }
    const survivorBefore = await countFor(survivor.id);
    expect(await countFor(doomed.id)).toMatchObject({
      traces: 1,
      scores: 1,
      messages: 2,
      windows: 1,
    });

    await db.sql`delete from auth.users where id = ${doomed.id}`;

    expect(await countFor(doomed.id)).toEqual({
      traces: 0,
      orphan_scores: 0,
      scores: 0,
      messages: 0,
      windows: 0,
    });
    expect(await countFor(survivor.id)).toEqual(survivorBefore);
  });
});

describe('deleting a trace', () => {
  it('keeps the app rows, clears their langfuse_trace_id, and deletes the scores', async () => {
    const user = await insertUser(db.sql);
    const { traceId, replyId } = await insertCoachTurn(db.sql, user.id);
    const scoreId = await insertScore(db.sql, traceId);
    const [encouragement] = await db.sql<{ id: string }[]>`
      insert into public.encouragement_messages (user_id, body, langfuse_trace_id)
      values (${user.id}, 'You can do it', ${traceId}) returning id
    `;
    const [reflection] = await db.sql<{ id: string }[]>`
      insert into public.reflections (user_id, body, coach_reply, langfuse_trace_id)
      values (${user.id}, 'Today went well', 'Great work', ${traceId}) returning id
    `;

    await db.sql`delete from public.langfuse_traces where trace_id = ${traceId}`;

    const [links] = await db.sql`
      select
        (select langfuse_trace_id from public.ai_coach_messages where id = ${replyId}) as reply,
        (select langfuse_trace_id from public.encouragement_messages where id = ${encouragement?.id ?? ''}) as encouragement,
        (select langfuse_trace_id from public.reflections where id = ${reflection?.id ?? ''}) as reflection,
        (select count(*)::int from public.ai_coach_messages where id = ${replyId}) as reply_rows,
        (select count(*)::int from public.langfuse_scores where id = ${scoreId}) as score_rows
    `;
    expect(links).toEqual({
      reply: null,
      encouragement: null,
      reflection: null,
      reply_rows: 1,
      score_rows: 0,
    });
  });
});
