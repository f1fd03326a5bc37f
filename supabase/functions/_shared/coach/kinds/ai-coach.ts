/**
 * ai-coach: a chat turn. Recent turns of the conversation go into the prompt,
 * bounded in size. A conversation is its user's: an id nobody has used starts
 * one, another user's answers 404 before the request counts or costs
 * (public.ai_coach_conversations, which the turns' foreign key holds to).
 */
import { z } from 'zod';
import { q } from '../../db/statement.ts';
import { HttpError } from '../../http/errors.ts';
import { storableText } from '../../http/validation.ts';
import type { ChatMessage } from '../../llm/types.ts';
import type { CoachKind } from '../kind.ts';

export const AiCoachBodySchema = z.strictObject({
  message: storableText(4000, 1),
  /** Lower case, as stored and as the Langfuse session: one conversation whatever the case sent. */
  conversationId: z.uuid().toLowerCase().optional(),
  stream: z.boolean().optional(),
});
export type AiCoachBody = z.infer<typeof AiCoachBodySchema>;

/** Keeps the newest turns that fit both budgets, oldest first. */
export function boundHistory(
  newestFirst: ChatMessage[],
  maxTurns: number,
  maxChars: number,
): ChatMessage[] {
  const kept: ChatMessage[] = [];
  let chars = 0;
  for (const turn of newestFirst.slice(0, maxTurns)) {
    chars += turn.content.length;
    if (chars > maxChars) break;
    kept.push(turn);
  }
  return kept.reverse();
}

/** Another user's conversation looks like one that does not exist, as another user's trace does. */
const conversationNotFound = (id: string) =>
  new HttpError(404, 'not_found', `No conversation ${id}.`);

export const aiCoach: CoachKind<AiCoachBody> = {
  endpoint: 'ai-coach',
  entityType: 'ai_coach_message',
  bodySchema: AiCoachBodySchema,
  link: { table: 'ai_coach_messages' },

  context(userId, body, config) {
    if (!body.conversationId) return null;
    return q`(
      select coalesce(json_agg(json_build_object('role', role, 'content', content) order by created_at desc), '[]'::json)
      from (
        select role, content, created_at from public.ai_coach_messages
        where user_id = ${userId} and conversation_id = ${body.conversationId}
        order by created_at desc
        limit ${config.history.maxTurns}
      ) recent
    )`;
  },

  precondition(userId, body) {
    if (!body.conversationId) return null;
    return {
      check: q`not exists (
        select 1 from public.ai_coach_conversations c
        where c.id = ${body.conversationId}::uuid and c.user_id <> ${userId}::uuid
      )`,
      refusal: conversationNotFound(body.conversationId),
    };
  },

  // The history is cut to HISTORY_MAX_CHARS (boundHistory), plus a role a turn.
  maxContextChars: (body, config) =>
    body.conversationId ? config.history.maxChars + config.history.maxTurns * 12 : 0,

  messages(body, context, config) {
    const newestFirst = (context as ChatMessage[] | null) ?? [];
    const bounded = boundHistory(newestFirst, config.history.maxTurns, config.history.maxChars);
    return [...bounded, { role: 'user', content: body.message }];
  },

  sessionId: (body) => body.conversationId ?? crypto.randomUUID(),

  store({ entityId, userId, body, reply, receivedAt, now, sessionId }) {
    const conversationId = sessionId ?? body.conversationId ?? crypto.randomUUID();
    const userTurnId = crypto.randomUUID();
    return {
      call: (trace, settlement) => q`
        public.store_ai_coach_reply(
          ${userTurnId}::uuid, ${userId}::uuid, ${conversationId}::uuid, ${body.message}::text,
          ${receivedAt}::timestamptz, ${entityId}::uuid, ${reply}::text, ${now}::timestamptz,
          ${trace}, ${settlement}
        )
      `,
      fields: (row) => ({ messageId: row?.id ?? entityId, conversationId }),
    };
  },
};
