/** ai-coach: a chat turn. Recent turns of the conversation go into the prompt, bounded in size. */
import { z } from 'zod';
import { q } from '../../db/statement.ts';
import { storableText } from '../../http/validation.ts';
import type { ChatMessage } from '../../llm/types.ts';
import type { CoachKind } from '../kind.ts';

export const AiCoachBodySchema = z.strictObject({
  message: storableText(4000, 1),
  conversationId: z.uuid().optional(),
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
