/**
 * Derived scores, computed by SQL on the app's data: their windows, the
 * user's time zone, and "created once, only after the window closed".
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUser } from '../../supabase/functions/_shared/db/as-user.ts';
import { insertUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

async function userIn(timeZone: string): Promise<string> {
  const { id } = await insertUser(db.sql);
  await db.sql`insert into public.user_settings (user_id, time_zone) values (${id}, ${timeZone})`;
  return id;
}

async function traceAt(
  userId: string,
  at: string,
  entityType = 'ai_coach_message',
): Promise<string> {
  const traceId = randomUUID();
  await db.sql`
    insert into public.langfuse_traces (trace_id, entity_type, entity_id, user_id, input, output, created_at)
    values (${traceId}, ${entityType}, ${randomUUID()}, ${userId}, 'in', 'out', ${at})
  `;
  return traceId;
}

async function userMessageAt(userId: string, at: string): Promise<void> {
  await db.sql`
    insert into public.ai_coach_messages (user_id, conversation_id, role, content, created_at)
    values (${userId}, ${randomUUID()}, 'user', 'hello', ${at})
  `;
}

async function dayStatus(
  userId: string,
  date: string,
  mission: string | null,
  completed: boolean,
): Promise<void> {
  await db.sql`
    insert into public.daily_statuses (user_id, status_date, mission, mission_completed, mission_completed_at)
    values (${userId}, ${date}, ${mission}, ${completed}, ${completed ? new Date(`${date}T12:00:00Z`) : null})
  `;
}

async function score(traceId: string, name: string) {
  const [row] = await db.sql`
    select value::int as value, metadata from public.langfuse_scores where trace_id = ${traceId} and score_name = ${name}
  `;
  return row;
}

async function commentOf(traceId: string, name: string): Promise<string | null | undefined> {
  const [row] = await db.sql`
    select comment from public.langfuse_scores where trace_id = ${traceId} and score_name = ${name}
  `;
  return row?.comment;
}

const derive = async (fn: string, now: string, ...extra: unknown[]) => {
  const args = extra.length ? `${extra.map((_, i) => `$${i + 2}`).join(', ')}, ` : '';
  const [row] = await db.sql.unsafe(`select public.${fn}(${args}p_now => $1) as n`, [
    now,
    ...(extra as string[]),
  ]);
  return row?.n as number;
};

describe('next_day_activity', () => {
  it('waits for the next local day to end, then scores activity once', async () => {
    const user = await userIn('UTC');
    const trace = await traceAt(user, '2026-10-05T10:00:00Z');
    await userMessageAt(user, '2026-10-06T08:00:00Z');
    await derive('derive_next_day_activity', '2026-10-06T23:59:59Z');
    expect(await score(trace, 'next_day_activity')).toBeUndefined();
    await derive('derive_next_day_activity', '2026-10-07T00:00:00Z');
    expect(await score(trace, 'next_day_activity')).toEqual({
      value: 1,
      metadata: { day: '2026-10-06' },
    });
    expect(await commentOf(trace, 'next_day_activity')).toBe('Active on the next day, 2026-10-06');
    await db.sql`delete from public.ai_coach_messages where user_id = ${user}`;
    await derive('derive_next_day_activity', '2026-10-08T00:00:00Z');
    expect(await score(trace, 'next_day_activity')).toEqual({
      value: 1,
      metadata: { day: '2026-10-06' },
    });
  });

  it('scores 0 when the next day passed without a message, reflection or daily status', async () => {
    const user = await userIn('UTC');
    const trace = await traceAt(user, '2026-10-05T10:00:00Z');
    await userMessageAt(user, '2026-10-05T11:00:00Z'); // same day: does not count
    await derive('derive_next_day_activity', '2026-10-07T00:00:00Z');
    expect(await score(trace, 'next_day_activity')).toMatchObject({ value: 0 });
  });

  it('counts a reflection or a daily status on the next day as activity', async () => {
    const reflecting = await userIn('UTC');
    const first = await traceAt(reflecting, '2026-10-05T10:00:00Z');
    await db.sql`insert into public.reflections (user_id, body, created_at) values (${reflecting}, 'ok', '2026-10-06T20:00:00Z')`;
    const posting = await userIn('UTC');
    const second = await traceAt(posting, '2026-10-05T10:00:00Z');
    await dayStatus(posting, '2026-10-06', null, false);
    await derive('derive_next_day_activity', '2026-10-07T00:00:00Z');
    expect(await score(first, 'next_day_activity')).toMatchObject({ value: 1 });
    expect(await score(second, 'next_day_activity')).toMatchObject({ value: 1 });
  });

  it("uses the user's local days", async () => {
    // 2026-10-05T20:00Z is Oct 6, 05:00 in Tokyo; 2026-10-06T10:00Z is still Oct 6 there (19:00).
    const tokyo = await userIn('Asia/Tokyo');
    const utc = await userIn('UTC');
    const tokyoTrace = await traceAt(tokyo, '2026-10-05T20:00:00Z');
    const utcTrace = await traceAt(utc, '2026-10-05T20:00:00Z');
    for (const user of [tokyo, utc]) await userMessageAt(user, '2026-10-06T10:00:00Z');
    // Tokyo's next day (Oct 7) ends at 2026-10-07T15:00Z.
    await derive('derive_next_day_activity', '2026-10-07T14:59:00Z');
    expect(await score(tokyoTrace, 'next_day_activity')).toBeUndefined();
    expect(await score(utcTrace, 'next_day_activity')).toMatchObject({ value: 1 });
    await derive('derive_next_day_activity', '2026-10-07T15:00:00Z');
    expect(await score(tokyoTrace, 'next_day_activity')).toEqual({
      value: 0,
      metadata: { day: '2026-10-07' },
    });
  });
});

describe('mission_completed', () => {
  it("scores the day's mission once the day is over, and skips days without one", async () => {
    const user = await userIn('UTC');
    const done = await traceAt(user, '2026-10-12T09:00:00Z', 'daily_status');
    const missed = await traceAt(user, '2026-10-13T09:00:00Z');
    const noMission = await traceAt(user, '2026-10-14T09:00:00Z');
    await dayStatus(user, '2026-10-12', 'Walk 20 minutes', true);
    await dayStatus(user, '2026-10-13', 'Stretch', false);
    await dayStatus(user, '2026-10-14', null, false);
    await derive('derive_mission_completed', '2026-10-12T23:00:00Z');
    expect(await score(done, 'mission_completed')).toBeUndefined();
    await derive('derive_mission_completed', '2026-10-15T00:00:00Z');
    expect(await score(done, 'mission_completed')).toEqual({
      value: 1,
      metadata: { day: '2026-10-12', mission: 'Walk 20 minutes' },
    });
    expect(await score(missed, 'mission_completed')).toMatchObject({ value: 0 });
    expect(await commentOf(done, 'mission_completed')).toBe(
      'Mission "Walk 20 minutes" on 2026-10-12: completed',
    );
    expect(await commentOf(missed, 'mission_completed')).toBe(
      'Mission "Stretch" on 2026-10-13: not completed',
    );
    expect(await score(noMission, 'mission_completed')).toBeUndefined();
  });
});

describe('weekly_completion_rate', () => {
  it('compares the ISO week completion rate with the threshold, after the week ends', async () => {
    const steady = await userIn('UTC');
    const trace = await traceAt(steady, '2026-10-20T09:00:00Z'); // week of Monday Oct 19
    await dayStatus(steady, '2026-10-19', 'a', true);
    await dayStatus(steady, '2026-10-21', 'b', true);
    await dayStatus(steady, '2026-10-23', 'c', false);
    await dayStatus(steady, '2026-10-26', 'next week', false);
    await derive('derive_weekly_completion_rate', '2026-10-25T23:59:00Z', 0.5);
    expect(await score(trace, 'weekly_completion_rate')).toBeUndefined();
    await derive('derive_weekly_completion_rate', '2026-10-26T00:00:00Z', 0.8);
    expect(await score(trace, 'weekly_completion_rate')).toEqual({
      value: 0,
      metadata: {
        week_start: '2026-10-19',
        rate: 0.6667,
        completed: 2,
        planned: 3,
        threshold: 0.8,
      },
    });
    expect(await commentOf(trace, 'weekly_completion_rate')).toBe(
      '2 of 3 missions completed in the week of 2026-10-19 (67%, threshold 80%)',
    );
  });

  it('passes at the threshold and skips weeks without missions', async () => {
    const user = await userIn('UTC');
    const trace = await traceAt(user, '2026-10-20T09:00:00Z');
    const quietWeek = await traceAt(user, '2026-10-27T09:00:00Z');
    await dayStatus(user, '2026-10-19', 'a', true);
    await dayStatus(user, '2026-10-20', 'b', false);
    await derive('derive_weekly_completion_rate', '2026-11-03T00:00:00Z', 0.5);
    expect(await score(trace, 'weekly_completion_rate')).toMatchObject({
      value: 1,
      metadata: { rate: 0.5 },
    });
    expect(await score(quietWeek, 'weekly_completion_rate')).toBeUndefined();
  });
});

describe('derive_scores', () => {
  it('runs every rule, reports the counts, and creates nothing twice', async () => {
    const user = await userIn('UTC');
    await traceAt(user, '2026-10-28T09:00:00Z');
    await dayStatus(user, '2026-10-28', 'Run', true);
    const [first] =
      await db.sql`select public.derive_scores(${'2026-11-03T00:00:00Z'}, 0.5) as counts`;
    expect(first?.counts.total).toBeGreaterThanOrEqual(3);
    expect(first?.counts.total).toBe(
      first?.counts.next_day_activity +
        first?.counts.mission_completed +
        first?.counts.weekly_completion_rate,
    );
    const [again] =
      await db.sql`select public.derive_scores(${'2026-11-03T00:00:00Z'}, 0.5) as counts`;
    expect(again?.counts.total).toBe(0);
  });

  it('is not for API users, and time zones are validated', async () => {
    const user = await userIn('UTC');
    await expect(
      asUser(
        db.sql,
        { role: 'authenticated', sub: user },
        (tx) => tx`select public.derive_scores()`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
    for (const zone of ['Mars/Olympus', 'UTC+167:59:59', 'Etc/GMT-14']) {
      await expect(
        db.sql`update public.user_settings set time_zone = ${zone} where user_id = ${user}`,
      ).rejects.toMatchObject({ code: '23503', constraint_name: 'user_settings_time_zone_fkey' });
    }
  });
});
