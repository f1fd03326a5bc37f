/**
 * Daily statuses only for the user's recent days, in their time zone: the
 * rule the daily-status function checks before counting or calling the LLM,
 * held by the table's policies for direct writes with the user's own grants.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUser, type JwtClaims } from '../../supabase/functions/_shared/db/as-user.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
const RLS_VIOLATION = { code: '42501', message: expect.stringContaining('row-level security') };
const claims = (u: TestUser): JwtClaims => ({ role: 'authenticated', sub: u.id });

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

/** The user's local today and `offset` days from it, as the database computes them. */
async function localDay(user: TestUser, offset: number): Promise<string> {
  const [row] = await db.sql<{ day: string }[]>`
    select (public.user_local_date(${user.id}) + ${offset}::integer)::text as day
  `;
  return row?.day as string;
}

function post(user: TestUser, date: string) {
  return asUser(db.sql, claims(user), async (tx) => {
    return tx`
      insert into public.daily_statuses ${tx({ user_id: user.id, status_date: date, mood: 3 })}
      returning id
    `;
  });
}

describe('daily statuses for the user', () => {
  it('take their local today, up to 7 days back and 1 day ahead, and nothing else', async () => {
    const user = await insertUser(db.sql);
    for (const offset of [0, -7, 1]) {
      await expect(post(user, await localDay(user, offset))).resolves.toHaveLength(1);
    }
    for (const offset of [-8, 2, -400]) {
      await expect(post(user, await localDay(user, offset))).rejects.toMatchObject(RLS_VIOLATION);
    }
  });

  it('follow the user time zone: where it is already tomorrow, tomorrow is today', async () => {
    const ahead = await insertUser(db.sql);
    await db.sql`insert into public.user_settings (user_id, time_zone) values (${ahead.id}, 'Pacific/Kiritimati')`;
    const behind = await insertUser(db.sql);
    await db.sql`insert into public.user_settings (user_id, time_zone) values (${behind.id}, 'Pacific/Pago_Pago')`;
    // UTC+14 and UTC-11: 25 hours apart, so their local todays differ by a day or two.
    const aheadToday = await localDay(ahead, 0);
    const behindToday = await localDay(behind, 0);
    expect(aheadToday > behindToday).toBe(true);
    await expect(post(ahead, await localDay(ahead, 1))).resolves.toHaveLength(1);
    await expect(post(behind, await localDay(behind, 2))).rejects.toMatchObject(RLS_VIOLATION);
    await expect(post(behind, await localDay(ahead, 1))).rejects.toMatchObject(RLS_VIOLATION);
  });

  it('cannot be edited once the day left the window', async () => {
    const user = await insertUser(db.sql);
    const old = await localDay(user, -10);
    await db.sql`insert into public.daily_statuses (user_id, status_date, mission) values (${user.id}, ${old}, 'Run')`;
    const edited = asUser(
      db.sql,
      claims(user),
      (tx) => tx`
        update public.daily_statuses set mission_completed = true, mission_completed_at = now()
        where user_id = ${user.id} returning id
      `,
    );
    await expect(edited).rejects.toMatchObject(RLS_VIOLATION);
  });
});
