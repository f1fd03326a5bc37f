/**
 * daily-status: the user posts a day's status and the coach comments. One row
 * per user and day: posting again updates the day (and keeps its id).
 */
import { z } from 'zod';
import type { CoachKind } from '../kind.ts';

export const DailyStatusBodySchema = z
  .strictObject({
    /** The user's local day; today in UTC when omitted. */
    date: z.iso.date().optional(),
    mood: z.number().int().min(1).max(5).optional(),
    note: z.string().trim().max(8000).optional(),
    mission: z.string().trim().max(1000).optional(),
    missionCompleted: z.boolean().optional(),
    stream: z.boolean().optional(),
  })
  .refine(
    (body) =>
      body.mood !== undefined || body.note || body.mission || body.missionCompleted !== undefined,
    { message: 'send at least one of mood, note, mission or missionCompleted' },
  );
export type DailyStatusBody = z.infer<typeof DailyStatusBodySchema>;

function statusDate(body: DailyStatusBody, now: Date): string {
  return body.date ?? now.toISOString().slice(0, 10);
}

export const dailyStatus: CoachKind<DailyStatusBody> = {
  endpoint: 'daily-status',
  entityType: 'daily_status',
  bodySchema: DailyStatusBodySchema,
  link: null,

  context: () => null,

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

  store(sql, { entityId, userId, body, reply, now }) {
    const date = statusDate(body, now);
    const completed = body.missionCompleted ?? null;
    return {
      ctes: sql`
        stored as (
          insert into public.daily_statuses as d
            (id, user_id, status_date, mood, note, mission, mission_completed, mission_completed_at, coach_comment)
          values (
            ${entityId}, ${userId}, ${date}, ${body.mood ?? null}, ${body.note ?? null}, ${body.mission ?? null},
            coalesce(${completed}::boolean, false), case when ${completed}::boolean then ${now}::timestamptz end,
            ${reply}
          )
          on conflict (user_id, status_date) do update set
            mood = coalesce(excluded.mood, d.mood),
            note = coalesce(excluded.note, d.note),
            mission = coalesce(excluded.mission, d.mission),
            mission_completed = coalesce(${completed}::boolean, d.mission_completed),
            mission_completed_at = case
              when ${completed}::boolean is null then d.mission_completed_at
              when ${completed}::boolean then coalesce(d.mission_completed_at, ${now}::timestamptz)
            end,
            coach_comment = excluded.coach_comment,
            updated_at = ${now}
          returning id
        )
      `,
      fields: (storedId) => ({ dailyStatusId: storedId, date }),
    };
  },
};
