/**
 * Test rows, inserted as the superuser (as Auth and Edge Functions would),
 * bypassing RLS. Each helper returns what tests need to refer to the row.
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { ensureUser } from '../../local/tooling/users.ts';

export interface TestUser {
  id: string;
  email: string;
}

/** A new user as Supabase Auth would create it (a random email unless one is given). */
export async function insertUser(
  sql: Sql,
  email = `${randomUUID()}@example.com`,
): Promise<TestUser> {
  const { id } = await ensureUser(sql, email);
  return { id, email };
}

export interface TestTrace {
  traceId: string;
  replyId: string;
}

/** A coach turn: the user's message, the reply, and the reply's trace. */
export async function insertCoachTurn(sql: Sql, userId: string): Promise<TestTrace> {
  const traceId = randomUUID();
  const replyId = randomUUID();
  const conversationId = randomUUID();
  await sql.begin(async (tx) => {
    await tx`
      insert into public.langfuse_traces (trace_id, entity_type, entity_id, user_id, input, output, metadata, tags)
      values (${traceId}, 'ai_coach_message', ${replyId}, ${userId}, 'How do I start?', 'Start small.',
              ${tx.json({ model: 'mock-coach-1' })}, ${['ai-coach']})
    `;
    await tx`
      insert into public.ai_coach_messages (user_id, conversation_id, role, content)
      values (${userId}, ${conversationId}, 'user', 'How do I start?')
    `;
    await tx`
      insert into public.ai_coach_messages (id, user_id, conversation_id, role, content, langfuse_trace_id)
      values (${replyId}, ${userId}, ${conversationId}, 'assistant', 'Start small.', ${traceId})
    `;
  });
  return { traceId, replyId };
}

export async function insertScore(
  sql: Sql,
  traceId: string,
  scoreName = 'user_feedback',
  value = 1,
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into public.langfuse_scores (trace_id, score_name, value)
    values (${traceId}, ${scoreName}, ${value})
    returning id
  `;
  if (!row) throw new Error('score insert returned nothing');
  return row.id;
}

/** n coach turns of one new user, each with a pending user_feedback score (value i % 2). */
export async function insertPendingFeedback(
  sql: Sql,
  n: number,
): Promise<{ scoreIds: string[]; traceIds: string[] }> {
  const user = await insertUser(sql);
  const scoreIds: string[] = [];
  const traceIds: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const { traceId } = await insertCoachTurn(sql, user.id);
    const [row] = await sql<{ id: string }[]>`
      insert into public.langfuse_scores (trace_id, score_name, value, comment)
      values (${traceId}, 'user_feedback', ${i % 2}, ${`c${i}`})
      returning id
    `;
    scoreIds.push(row?.id as string);
    traceIds.push(traceId);
  }
  return { scoreIds, traceIds };
}
