/**
 * Time zone changes (issue 21) on real Postgres, made through the user's own
 * grants: however a user hops, their days never go back, never pile up in a
 * real day beyond one extra boundary, and neither stretch the daily-status
 * window nor move past traces into other days for the derived scores.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUser } from '../../supabase/functions/_shared/db/as-user.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;

const ZONES = [
  'Pacific/Kiritimati',
  'UTC+167:59:59',
  'Pacific/Pago_Pago',
  'Etc/GMT-14',
  'Asia/Tokyo',
  'UTC-100',
  'America/New_York',
  'Pacific/Auckland',
  'Pacific/Honolulu',
];
const DAY_MS = 86_400_000;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql`insert into public.plans (name, tokens_per_day) values ('tz-day', 1000)`;
});
afterAll(() => db?.drop());

const as = <T>(user: TestUser, work: Parameters<typeof asUser<T>>[2]) =>
  asUser(db.sql, { role: 'authenticated', sub: user.id }, work);

/** The user moves through their own grants; an offset is refused by the check. */
async function moveTo(user: TestUser, zone: string): Promise<void> {
  await as(
    user,
    (tx) => tx`
      insert into public.user_settings (user_id, time_zone) values (${user.id}, ${zone})
      on conflict (user_id) do update set time_zone = excluded.time_zone
    `,
  ).catch((error) => expect(error).toMatchObject({ code: '23503' })); // not one of public.time_zones
}

async function localToday(user: TestUser): Promise<string> {
  const [row] = await db.sql<{ day: string }[]>`
    select public.user_local_date(${user.id})::text as day
  `;
  return row?.day as string;
}

const shift = (day: string, days: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

describe('a move', () => {
  /** The user's day at an instant: its date, its end and its zone. */
  async function dayAt(user: TestUser, at: string) {
    const [row] = await db.sql<{ day: string; ends_at: Date; time_zone: string }[]>`
      select day::text, ends_at, time_zone from public.user_day(${user.id}, ${at})
    `;
    return row && { day: row.day, endsAt: row.ends_at.toISOString(), zone: row.time_zone };
  }

  it('takes effect when the day ends; the last change of a day wins; east, a day under 12 hours joins the next', async () => {
    const user = await insertUser(db.sql);
    await moveTo(user, 'Asia/Tokyo'); // nothing recorded yet: Tokyo from the start
    // A reservation on June 10 in Tokyo (the functions' clock): the day a move must wait for.
    await db.sql`select public.reserve_budget(${user.id}, 10, 0, '2031-06-10T03:00:00Z')`;
    await moveTo(user, 'America/New_York');
    expect(await dayAt(user, '2031-06-10T14:59:00Z')).toEqual({
      day: '2031-06-10',
      endsAt: '2031-06-10T15:00:00.000Z',
      zone: 'Asia/Tokyo',
    });
    // West: June 11 begins at Tokyo's midnight and ends at New York's, 37 hours later.
    expect(await dayAt(user, '2031-06-10T15:00:00Z')).toEqual({
      day: '2031-06-11',
      endsAt: '2031-06-12T04:00:00.000Z',
      zone: 'America/New_York',
    });
    await moveTo(user, 'Asia/Tokyo'); // changed their mind the same day: nothing changes
    expect((await dayAt(user, '2031-06-10T15:00:00Z'))?.zone).toBe('Asia/Tokyo');
    const periods = await as(
      user,
      (tx) => tx`select time_zone from public.user_time_zone_periods order by starts_at`,
    );
    expect(periods.map((period) => period.time_zone)).toEqual(['Asia/Tokyo']);

    await moveTo(user, 'America/New_York');
    await db.sql`select public.reserve_budget(${user.id}, 10, 0, '2031-06-12T05:00:00Z')`;
    await moveTo(user, 'Asia/Tokyo');
    // East: Tokyo's June 13 would last 11 hours from New York's midnight, so June 14 begins there.
    expect(await dayAt(user, '2031-06-13T04:00:00Z')).toEqual({
      day: '2031-06-14',
      endsAt: '2031-06-14T15:00:00.000Z',
      zone: 'Asia/Tokyo',
    });
  });
});

describe('budget days under hopping, day after day', () => {
  it('never go back, and a real day holds at most three of them', async () => {
    const user = await insertUser(db.sql);
    await db.sql`insert into public.user_settings (user_id, plan) values (${user.id}, 'tz-day')`;
    const reserved: { at: number; day: string }[] = [];
    const start = Date.parse('2031-05-01T00:00:00Z');
    for (let step = 0; step < 60; step += 1) {
      const at = new Date(start + step * 5 * 3_600_000).toISOString();
      for (let call = 0; call < 11; call += 1) {
        const [row] = await db.sql<{ a: { ok: boolean; day?: string } }[]>`
          select public.reserve_budget(${user.id}, 100, 0, ${at}) as a
        `;
        if (!row?.a.ok) break;
        reserved.push({ at: Date.parse(at), day: row.a.day as string });
      }
      await moveTo(user, ZONES[step % ZONES.length] as string);
    }
    for (const [i, call] of reserved.entries()) {
      const next = reserved[i + 1];
      if (next) expect(next.day >= call.day, `${call.day} then ${next.day}`).toBe(true);
      const within = reserved.filter((other) => other.at >= call.at && other.at < call.at + DAY_MS);
      expect(new Set(within.map((other) => other.day)).size).toBeLessThanOrEqual(3);
    }
    const [rows] = await db.sql<{ over: number }[]>`
      select count(*)::int as over from public.budget_usage
      where user_id = ${user.id} and tokens_reserved > 1000
    `;
    expect(rows?.over).toBe(0);
  });
});

describe('daily statuses under hopping', () => {
  it('stay within the window of the day the user is in, whatever zones they pass through', async () => {
    const user = await insertUser(db.sql);
    const before = await localToday(user);
    await db.sql`insert into public.daily_statuses (user_id, status_date, mood) values (${user.id}, ${before}, 3)`;
    const accepted = new Set<string>();
    for (const zone of ZONES) {
      await moveTo(user, zone);
      for (let offset = -16; offset <= 9; offset += 1) {
        const date = shift(before, offset);
        if (accepted.has(date) || date === before) continue;
        await as(
          user,
          (tx) => tx`
            insert into public.daily_statuses (user_id, status_date, mood) values (${user.id}, ${date}, 2)
          `,
        ).then(
          () => accepted.add(date),
          (error) => expect(error).toMatchObject({ code: '42501' }),
        );
      }
    }
    // A run that crosses the user's midnight may move the window by that day.
    const after = await localToday(user);
    for (const date of accepted) {
      expect(date >= shift(before, -7) && date <= shift(after, 1), date).toBe(true);
    }
  });
});

describe('derived scores under hopping', () => {
  it('score a trace in the day it was made in, whatever zone the user moves to later', async () => {
    const [base] = await db.sql<{ day: string }[]>`select (current_date - 6)::text as day`;
    const day = base?.day as string;
    const traceAt = async (user: TestUser, entityType: string, at: string) => {
      const traceId = randomUUID();
      await db.sql`
        insert into public.langfuse_traces (trace_id, entity_type, entity_id, user_id, input, output, created_at)
        values (${traceId}, ${entityType}, ${randomUUID()}, ${user.id}, 'in', 'out', ${at})
      `;
      return traceId;
    };
    // 14:00 and 16:00 UTC are one UTC day; in Tokyo 16:00 is already the next day.
    const talker = await insertUser(db.sql);
    const talk = await traceAt(talker, 'ai_coach_message', `${day}T14:00:00Z`);
    await db.sql`
      insert into public.ai_coach_messages (user_id, conversation_id, role, content, created_at)
      values (${talker.id}, ${randomUUID()}, 'user', 'later that day', ${`${day}T16:00:00Z`})
    `;
    // 20:00 UTC is the next morning in Tokyo, whose mission was completed.
    const planner = await insertUser(db.sql);
    const status = await traceAt(planner, 'daily_status', `${day}T20:00:00Z`);
    await db.sql`
      insert into public.daily_statuses (user_id, status_date, mission, mission_completed, mission_completed_at)
      values (${planner.id}, ${day}, 'Walk', false, null),
             (${planner.id}, ${shift(day, 1)}, 'Swim', true, ${`${shift(day, 1)}T12:00:00Z`})
    `;
    for (const user of [talker, planner]) {
      for (const zone of ['Asia/Tokyo', 'UTC+100', 'Pacific/Kiritimati']) await moveTo(user, zone);
    }
    const now = `${shift(day, 4)}T00:00:00Z`;
    await db.sql`select public.derive_next_day_activity(p_now => ${now})`;
    await db.sql`select public.derive_mission_completed(p_now => ${now})`;
    const scores = await db.sql<{ trace_id: string; score_name: string; value: number }[]>`
      select trace_id, score_name, value::int as value from public.langfuse_scores
      where trace_id in (${talk}, ${status})
    `;
    const named = scores.map(
      (score) =>
        `${score.trace_id === talk ? 'talk' : 'status'} ${score.score_name} ${score.value}`,
    );
    expect(named.sort()).toEqual(['status mission_completed 0', 'talk next_day_activity 0']);
  });
});
