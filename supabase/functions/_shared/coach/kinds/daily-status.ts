/**
 * daily-status: the user posts a day's status and the coach comments. One row
 * per user and day: posting again updates the day (and keeps its id).
 *
 * The day is the user's: their local today when no date is sent, and a sent
 * date must be one of their recent days (public.daily_status_date_allowed,
 * the rule the table's policies hold direct writes to), checked before the
 * request counts or the LLM is called.
 */
import { z } from 'zod';
import { q } from '../../db/statement.ts';
import { HttpError } from '../../http/errors.ts';
import { calendarDate, storableText } from '../../http/validation.ts';
import type { CoachKind } from '../kind.ts';

export const DailyStatusBodySchema = z
  .strictObject({
    /** The user's local day; their local today when omitted. */
    date: calendarDate.optional(),
    mood: z.number().int().min(1).max(5).optional(),
    note: storableText(8000).optional(),
    mission: storableText(1000).optional(),
    missionCompleted: z.boolean().optional(),
    stream: z.boolean().optional(),
  })
  .refine(
    (body) =>
      body.mood !== undefined || body.note || body.mission || body.missionCompleted !== undefined,
    { message: 'send at least one of mood, note, mission or missionCompleted' },
  );
export type DailyStatusBody = z.infer<typeof DailyStatusBodySchema>;

export const DATE_OUT_OF_WINDOW = new HttpError(
  400,
  'invalid_request',
  'A daily status can be posted only for your recent days: your local today, up to 7 days back and 1 day ahead.',
  { details: { reason: 'DATE_OUT_OF_WINDOW' } },
);

export const dailyStatus: CoachKind<DailyStatusBody> = {
  endpoint: 'daily-status',
  entityType: 'daily_status',
  bodySchema: DailyStatusBodySchema,
  link: null,

  context: () => null,

  precondition(userId, body, now) {
    if (!body.date) return null;
    return {
      check: q`public.daily_status_date_allowed(${userId}, ${body.date}::date, ${now}::timestamptz)`,
      refusal: DATE_OUT_OF_WINDOW,
    };
  },

  messages(body) {
    const lines = [
      body.date ? `Day: ${body.date}` : 'Day: today',
      body.mood !== undefined ? `Mood: ${body.mood}/5` : '',
      body.note ? `Note: ${body.note}` : '',
      body.mission ? `Mission: ${body.mission}` : '',
      body.missionCompleted !== undefined
        ? `Mission completed: ${body.missionCompleted ? 'yes' : 'no'}`
        : '',
    ];
    return [{ role: 'user', content: lines.filter(Boolean).join('\n') }];
  },

  store({ entityId, userId, body, reply, now }) {
    return {
      call: (trace, settlement) => q`
        public.store_daily_status(
          ${entityId}::uuid, ${userId}::uuid, ${body.date ?? null}::date, ${body.mood ?? null}::smallint,
          ${body.note ?? null}::text, ${body.mission ?? null}::text,
          ${body.missionCompleted ?? null}::boolean, ${reply}::text, ${now}::timestamptz,
          ${trace}, ${settlement}
        )
      `,
      fields: (row) => ({ dailyStatusId: row?.id ?? null, date: row?.date ?? body.date ?? null }),
    };
  },
};
