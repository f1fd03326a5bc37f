/**
 * The sync within Langfuse Cloud's rate limits (the local Langfuse with the
 * Hobby plan's limiter): scores through POST /api/public/scores once the
 * ingestion endpoint refuses score-create, paced under 30 a minute, a 429
 * waited out; the trace-id repair paced by the daily delete limit, and held
 * for a day-long Retry-After.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LangfuseServer, RateLimitOptions } from '../../local/langfuse/server.ts';
import type { SyncConfig } from '../../supabase/functions/_shared/langfuse/config.ts';
import { runSync, ScoreRoute } from '../../supabase/functions/_shared/langfuse/sync.ts';
import { type SyncFixture, startSyncFixture } from '../support/sync-fixture.ts';
import type { TestDatabase } from '../support/test-database.ts';

let fixture: SyncFixture;
let db: TestDatabase;
let langfuse: LangfuseServer;
let now: Date;
const clock = { now: () => now };
// The test changes the limiter's overrides between tests; the server reads them on every request.
const limits: RateLimitOptions & { overrides: NonNullable<RateLimitOptions['overrides']> } = {
  plan: 'cloud:hobby',
  overrides: {},
};

beforeAll(async () => {
  fixture = await startSyncFixture(
    { LANGFUSE_TIMEOUT_MS: '5000', SYNC_TIME_BUDGET_MS: '15000' },
    { limits },
  );
  ({ db, langfuse } = fixture);
});
afterAll(() => fixture?.stop());
beforeEach(async () => {
  now = new Date();
  limits.overrides = {};
  await fixture.reset();
});

/** Langfuse's ingestion refuses score-create, as v4's events-only filter refuses other types. */
function refuseScoreEvents(scoreIds: string[]): void {
  for (const id of scoreIds)
    langfuse.faults.eventErrors.set(id, { status: 400, message: 'Event type not accepted' });
}

const created = () =>
  langfuse.requests.filter((r) => r.path === '/api/public/scores').map((r) => r.status);

describe('scores through the scores API', () => {
  it('go one by one under the plan limit once ingestion refuses score-create', async () => {
    const { scoreIds } = await fixture.pendingScores(3);
    refuseScoreEvents(scoreIds);
    const route = new ScoreRoute();
    const started = performance.now();
    const summary = await runSync(fixture.deps(clock, {}, { scoreRoute: route }));
    expect(summary).toMatchObject({ scoresSent: 3, scoresPath: 'scores API', stoppedBecause: [] });
    expect(route.usesIngestion()).toBe(false);
    // Spread out: Hobby's 30 a minute lets 29 through, one every 60/29 s.
    expect(performance.now() - started).toBeGreaterThan(2 * (60_000 / 29) - 100);
    expect(created()).toEqual([200, 200, 200]);
    const stored = langfuse.v4.scores().map((score) => score.id);
    expect(stored.sort()).toEqual([...scoreIds].sort());
    const rows = await db.sql`
      select status, langfuse_score_date::text as date from public.langfuse_scores
    `;
    const today = new Date(langfuse.clock.now()).toISOString().slice(0, 10);
    expect(rows.every((row) => row.status === 'sent' && row.date === today)).toBe(true);
  });

  it('wait for Retry-After when the minute is spent', async () => {
    const { scoreIds } = await fixture.pendingScores(3);
    refuseScoreEvents(scoreIds);
    // Langfuse lets one through this minute; we believe we may send 60.
    limits.overrides['public-api'] = { points: 2, durationInSec: 60 };
    const summary = await runSync(
      fixture.deps(clock, { scoresPerMinute: 60 } as Partial<SyncConfig>, {
        scoreRoute: new ScoreRoute(),
      }),
    );
    expect(summary).toMatchObject({ scoresSent: 1, scoresRetried: 1 });
    expect(summary.stoppedBecause.join()).toContain('429');
    expect(created()).toEqual([200, 429]);
    const [waiting] = await db.sql<{ wait: number }[]>`
      select extract(epoch from min(next_attempt_at) - ${now}::timestamptz)::int as wait
      from public.langfuse_scores where status = 'pending' and attempts = 1
    `;
    expect(waiting?.wait).toBeGreaterThanOrEqual(55);
  });
});

describe('the trace-id repair at Langfuse delete limits', () => {
  /** n delivered scores whose copies are to be deleted, as the repair leaves them. */
  async function misfiled(n: number): Promise<string[]> {
    const { scoreIds } = await fixture.pendingScores(n);
    await db.sql`
      update public.langfuse_scores
      set stale_langfuse_score_id = id, langfuse_score_id = gen_random_uuid()
      where id = any(${scoreIds}::uuid[])
    `;
    return scoreIds;
  }

  it('deletes no more a day than the plan allows, and says when it will be done', async () => {
    await misfiled(5);
    const first = await runSync(fixture.deps(clock, { scoreDeletesPerDay: 3 }));
    expect(first).toMatchObject({ staleScoresDeleted: 3, scoresSent: 3 });
    expect(first.repair).toMatchObject({ remaining: 2, allowedToday: 0 });
    const doneBy = Date.parse(first.repair?.doneBy as string);
    expect(doneBy).toBeGreaterThan(now.getTime() + 86_400_000 - 1000);

    now = new Date(now.getTime() + 60_000);
    expect(await runSync(fixture.deps(clock, { scoreDeletesPerDay: 3 }))).toMatchObject({
      staleScoresDeleted: 0,
      scoresSent: 0,
    });

    now = new Date(now.getTime() + 25 * 3_600_000);
    const later = await runSync(fixture.deps(clock, { scoreDeletesPerDay: 3 }));
    expect(later).toMatchObject({ staleScoresDeleted: 2, scoresSent: 2, repair: null });
    const deletes = langfuse.requests.filter((r) => r.path.startsWith('/api/public/scores/'));
    expect(deletes).toHaveLength(5);
  });

  it('holds every copy still to delete for a day-long Retry-After', async () => {
    await misfiled(4);
    // Langfuse's day allows two more deletes than we think (none left after the second).
    limits.overrides['score-delete'] = { points: 3, durationInSec: 86_400 };
    const summary = await runSync(fixture.deps(clock));
    expect(summary.staleScoresDeleted).toBe(2);
    expect(summary.stoppedBecause.join()).toContain('429');
    const held = await db.sql<{ hours: number }[]>`
      select extract(epoch from next_attempt_at - ${now}::timestamptz) / 3600 as hours
      from public.langfuse_scores where stale_langfuse_score_id is not null
    `;
    expect(held).toHaveLength(2);
    for (const row of held) expect(Number(row.hours)).toBeGreaterThan(23);
    expect(Date.parse(summary.repair?.doneBy as string)).toBeGreaterThan(
      now.getTime() + 23 * 3_600_000,
    );
    // The next runs leave them alone until then.
    now = new Date(now.getTime() + 3_600_000);
    expect((await runSync(fixture.deps(clock))).staleScoresDeleted).toBe(0);
  });
});
