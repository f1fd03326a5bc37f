/**
 * Time zone hopping against budgets (issue 21), through the ai-coach handler
 * on real Postgres: a user who changes `user_settings.time_zone` as often as
 * they like, through their own grants, gets no more than the plan's day and
 * month limits. Offsets (POSIX strings, Etc/GMT±N) are refused; a real IANA
 * name takes effect when the user's current day ends.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { asUser } from '../../supabase/functions/_shared/db/as-user.ts';
import { type CoachFixture, coachFixture, post } from '../support/coach-fixture.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let mock: MockLlm;
let fx: CoachFixture;

/** Fifteen zones, real names and offsets mixed, as the attack in issue 21 went through them. */
const HOPS = [
  'Pacific/Kiritimati',
  'UTC+167:59:59',
  'Pacific/Pago_Pago',
  'UTC-167:59:59',
  'Etc/GMT-14',
  'Asia/Tokyo',
  '<+99>-99',
  'America/Los_Angeles',
  'Etc/GMT+12',
  'Pacific/Auckland',
  'UTC+100',
  'Pacific/Honolulu',
  'EST5EDT',
  'Asia/Kolkata',
  'Pacific/Tongatapu',
];
const OFFSETS = new Set(['UTC+167:59:59', 'UTC-167:59:59', 'Etc/GMT-14', '<+99>-99']);
OFFSETS.add('Etc/GMT+12').add('UTC+100').add('EST5EDT');

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  // A large output limit makes each reservation large: a few calls fill a day.
  fx = await coachFixture({
    sql: db.sql,
    mock,
    env: {
      RATE_LIMIT_AI_COACH: '1000/60s',
      AI_COACH_MODEL: 'gpt-4o-mini',
      LLM_MAX_OUTPUT_TOKENS: '1500',
    },
  });
  await db.sql`
    insert into public.plans (name, tokens_per_day, cost_usd_per_day, cost_usd_per_month)
    values ('hop-day', 5000, null, null), ('hop-month', null, null, 0.001)
  `;
});
afterAll(async () => {
  await mock?.stop();
  await db?.drop();
});
beforeEach(() => mock.reset());

async function userOn(plan: string): Promise<{ user: TestUser; token: string }> {
  const user = await insertUser(db.sql);
  await db.sql`insert into public.user_settings (user_id, plan) values (${user.id}, ${plan})`;
  return { user, token: await fx.token(user.id) };
}

/** The user moves, through their own grants, as an app (or an attacker) would. */
async function moveTo(user: TestUser, timeZone: string): Promise<'accepted' | 'refused'> {
  try {
    await asUser(
      db.sql,
      { role: 'authenticated', sub: user.id },
      (tx) =>
        tx`update public.user_settings set time_zone = ${timeZone} where user_id = ${user.id}`,
    );
    return 'accepted';
  } catch (error) {
    expect(error).toMatchObject({ code: '23503' }); // not one of public.time_zones
    return 'refused';
  }
}

/** Calls ai-coach until the budget refuses; how many were answered. */
async function spendAll(token: string): Promise<number> {
  for (let answered = 0; answered < 50; answered += 1) {
    const res = await fx.handler(aiCoach)(post('ai-coach', { message: 'One more tip' }, token));
    if (res.status === 429) {
      expect(await res.json()).toMatchObject({ error: { code: 'budget_exceeded' } });
      return answered;
    }
    expect(res.status).toBe(200);
  }
  throw new Error('the budget never refused');
}

async function spent(userId: string) {
  await fx.settle();
  const rows = await db.sql<{ day: string; tokens: string; cost: string }[]>`
    select window_start::text as day, (tokens_used + tokens_reserved)::text as tokens,
      (cost_used + cost_reserved)::text as cost
    from public.budget_usage where user_id = ${userId} order by window_start
  `;
  return {
    days: rows.map((row) => row.day),
    tokens: rows.reduce((sum, row) => sum + Number(row.tokens), 0),
    cost: rows.reduce((sum, row) => sum + Number(row.cost), 0),
  };
}

describe('hopping through 15 time zones within a second', () => {
  it('refuses the offsets, and the real zones give no second day', async () => {
    const { user, token } = await userOn('hop-day');
    fx.clock.set(new Date('2031-03-10T10:30:00Z')); // when three local dates exist at once
    const firstDay = await spendAll(token);
    expect(firstDay).toBeGreaterThan(1);
    let answered = firstDay;
    for (const zone of HOPS) {
      expect({ zone, outcome: await moveTo(user, zone) }).toEqual({
        zone,
        outcome: OFFSETS.has(zone) ? 'refused' : 'accepted',
      });
      answered += await spendAll(token);
    }
    expect(answered).toBe(firstDay);
    const after = await spent(user.id);
    expect(after.days).toEqual(['2031-03-10']);
    expect(after.tokens).toBeLessThanOrEqual(5000);
  });
});

describe('hopping back into the previous month', () => {
  it("never spends the month that ended: one real day stays within the month's limit", async () => {
    const { user, token } = await userOn('hop-month');
    fx.clock.set(new Date('2031-04-01T00:30:00Z')); // still March 31 west of UTC-01
    expect(await spendAll(token)).toBeGreaterThan(0);
    for (const zone of ['Pacific/Pago_Pago', 'America/Los_Angeles', 'UTC-167:59:59']) {
      await moveTo(user, zone);
      expect(await spendAll(token)).toBe(0);
    }
    fx.clock.set(new Date('2031-04-01T20:00:00Z'));
    expect(await spendAll(token)).toBe(0);
    const after = await spent(user.id);
    expect(after.days.every((day) => day.startsWith('2031-04'))).toBe(true);
    expect(after.cost).toBeLessThanOrEqual(0.001);
  });
});
