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

  store({ entityId, userId, body, reply, receivedAt }) {
    return {
      call: (trace, settlement) => q`
        public.store_reflection(
          ${entityId}::uuid, ${userId}::uuid, ${body.body}::text, ${reply}::text,
          ${receivedAt}::timestamptz, ${trace}, ${settlement}
        )
      `,
      fields: (row) => ({ reflectionId: row?.id ?? entityId }),
    };
  },
};
