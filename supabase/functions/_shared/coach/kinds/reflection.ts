/** reflection: the user submits a reflection; the coach answers it. Both go in one row. */
import { z } from 'zod';
import { q } from '../../db/statement.ts';
import { storableText } from '../../http/validation.ts';
import type { CoachKind } from '../kind.ts';

export const ReflectionBodySchema = z.strictObject({
  body: storableText(8000, 1),
  stream: z.boolean().optional(),
});
export type ReflectionBody = z.infer<typeof ReflectionBodySchema>;

export const reflection: CoachKind<ReflectionBody> = {
  endpoint: 'reflection',
  entityType: 'reflection',
  bodySchema: ReflectionBodySchema,
  link: { table: 'reflections' },

  context: () => null,

  messages(body) {
    return [{ role: 'user', content: body.body }];
  },

  store({ entityId, userId, body, reply, receivedAt, traceId }) {
    return {
      ctes: q`
        stored as (
          insert into public.reflections
            (id, user_id, body, coach_reply, created_at, updated_at, langfuse_trace_id)
          values (${entityId}, ${userId}, ${body.body}, ${reply}, ${receivedAt}, ${receivedAt}, ${traceId})
          returning id
        )
      `,
      fields: (row) => ({ reflectionId: row?.id ?? entityId }),
    };
  },
};
