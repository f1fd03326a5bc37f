/** encouragement: the user asks for one; the coach writes it from their recent days. */
import { z } from 'zod';
import { q } from '../../db/statement.ts';
import { storableText } from '../../http/validation.ts';
import type { CoachKind } from '../kind.ts';

export const EncouragementBodySchema = z.strictObject({
  context: storableText(1000).optional(),
  stream: z.boolean().optional(),
});
export type EncouragementBody = z.infer<typeof EncouragementBodySchema>;

interface RecentDay {
  status_date: string;
  mood: number | null;
  mission: string | null;
  mission_completed: boolean;
}

export const encouragement: CoachKind<EncouragementBody> = {
  endpoint: 'encouragement',
  entityType: 'encouragement_message',
  bodySchema: EncouragementBodySchema,
  link: { table: 'encouragement_messages' },

  context(userId) {
    return q`(
      select coalesce(json_agg(day order by day.status_date desc), '[]'::json)
      from (
        select status_date::text, mood, mission, mission_completed
        from public.daily_statuses where user_id = ${userId}
        order by status_date desc limit 3
      ) day
    )`;
  },

  // Three days, each a date, a mood and a mission of at most 1,000 characters.
  maxContextChars: () => 3 * 1100,

  messages(body, context) {
    const days = (context as RecentDay[] | null) ?? [];
    const lines = days.map(
      (day) =>
        `${day.status_date}: mood ${day.mood ?? '?'}/5, mission "${day.mission ?? 'none'}"` +
        (day.mission_completed ? ' (completed)' : ''),
    );
    const content = [
      lines.length ? `My recent days:\n${lines.join('\n')}` : 'I have not logged any days yet.',
      body.context ? `What is on my mind: ${body.context}` : '',
      'Please encourage me.',
    ]
      .filter(Boolean)
      .join('\n\n');
    return [{ role: 'user', content }];
  },

  store({ entityId, userId, reply }) {
    return {
      call: (trace, settlement) => q`
        public.store_encouragement(${entityId}::uuid, ${userId}::uuid, ${reply}::text, ${trace}, ${settlement})
      `,
      fields: (row) => ({ encouragementId: row?.id ?? entityId }),
    };
  },
};
