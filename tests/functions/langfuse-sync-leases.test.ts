/**
 * Claims are leases, not locks held across the request to Langfuse: while a
 * run waits on Langfuse, another run skips its rows; a lease that lapsed (its
 * run died) frees them; a feedback edited while its score is in flight is
 * sent again afterwards, newest last.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LangfuseServer } from '../../local/langfuse/server.ts';
import { runSync, type SyncSummary } from '../../supabase/functions/_shared/langfuse/sync.ts';
import { type SyncFixture, startSyncFixture } from '../support/sync-fixture.ts';
import type { TestDatabase } from '../support/test-database.ts';

let fixture: SyncFixture;
let db: TestDatabase;
let langfuse: LangfuseServer;
let now: Date;
const clock = { now: () => now };
const run = () => runSync(fixture.deps(clock));

beforeAll(async () => {
  fixture = await startSyncFixture();
  ({ db, langfuse } = fixture);
});
afterAll(() => fixture?.stop());
beforeEach(async () => {
  now = new Date();
  await fixture.reset();
});

describe('leases', () => {
  it('a run skips the rows another run is sending; each score arrives once', async () => {
    const { scoreIds } = await fixture.pendingScores(150);
    let second: SyncSummary | undefined;
    let leasedWhileSending = 0;
    langfuse.faults.beforeAnswer = async (kind) => {
      if (kind !== 'ingestion' || second) return;
      second = { scoresSent: -1 } as SyncSummary;
      // The first run's first batch is in Langfuse's hands: its rows are leased, not locked.
      const [leased] = await db.sql`
        select count(*)::int as n from public.langfuse_scores where claimed_by is not null
      `;
      leasedWhileSending = leased?.n ?? 0;
      second = await run();
    };
    const first = await run();
    expect(leasedWhileSending).toBe(100);
    expect(first.scoresSent).toBe(100);
    expect(second?.scoresSent).toBe(50);
    expect(fixture.scoreDeliveries().size).toBe(150);
    expect(scoreIds.every((id) => fixture.scoreDeliveries().get(id) === 1)).toBe(true);
    const [left] = await db.sql`
      select count(*)::int as n from public.langfuse_scores
      where status <> 'sent' or claimed_by is not null or claimed_until is not null
    `;
    expect(left?.n).toBe(0);
  });

  it('a lapsed lease frees its rows; a live one keeps them', async () => {
    const { scoreIds, traceIds } = await fixture.pendingScores(4);
    const dead = randomUUID();
    const [lapsedScore, liveScore] = scoreIds as [string, string];
    const [lapsedTrace, liveTrace] = traceIds as [string, string];
    await db.sql`
      update public.langfuse_scores set claimed_by = ${dead}, claimed_until = ${new Date(now.getTime() - 1000)}
      where id = ${lapsedScore}
    `;
    await db.sql`
      update public.langfuse_scores set claimed_by = ${dead}, claimed_until = ${new Date(now.getTime() + 60_000)}
      where id = ${liveScore}
    `;
    await db.sql`
      update public.langfuse_traces set export_claimed_by = ${dead},
        export_claimed_until = case when trace_id = ${lapsedTrace} then ${new Date(now.getTime() - 1000)}::timestamptz
          else ${new Date(now.getTime() + 60_000)}::timestamptz end
      where trace_id in (${lapsedTrace}, ${liveTrace})
    `;
    const summary = await run();
    expect(summary).toMatchObject({ scoresSent: 3, tracesExported: 3 });
    expect(fixture.scoreDeliveries().has(liveScore)).toBe(false);
    expect(fixture.scoreDeliveries().get(lapsedScore)).toBe(1);
    const [live] =
      await db.sql`select status, claimed_by from public.langfuse_scores where id = ${liveScore}`;
    expect(live).toEqual({ status: 'pending', claimed_by: dead });

    now = new Date(now.getTime() + 61_000);
    expect(await run()).toMatchObject({ scoresSent: 1, tracesExported: 1 });
    expect([...fixture.scoreDeliveries().values()]).toEqual([1, 1, 1, 1]);
    expect(fixture.traceDeliveries().size).toBe(4);
  });

  it('a feedback changed while its score is in flight is sent again, newest last', async () => {
    const {
      scoreIds: [id],
    } = await fixture.pendingScores(1);
    langfuse.faults.beforeAnswer = async (kind) => {
      if (kind !== 'ingestion') return;
      langfuse.faults.beforeAnswer = null;
      // The user edits the feedback while Langfuse holds the old one.
      await db.sql`update public.langfuse_scores set value = 1, comment = 'changed my mind' where id = ${id as string}`;
    };
    // The old content's answer ends the claim but leaves the row pending for the new
    // content, which the run's next batch sends: after the old one was accepted.
    const first = await run();
    expect(first.scoresSent).toBe(2);
    expect(langfuse.scoreEvents.map((e) => [e.body.id, e.body.value, e.body.comment])).toEqual([
      [id, 0, 'c0'],
      [id, 1, 'changed my mind'],
    ]);
    expect(langfuse.scores.get(id as string)).toMatchObject({
      value: 1,
      comment: 'changed my mind',
    });
    const [after] =
      await db.sql`select status from public.langfuse_scores where id = ${id as string}`;
    expect(after?.status).toBe('sent');
  });
});
