/**
 * What a Langfuse user sees after a sync, read back through Langfuse's own
 * API on the local server (which applies Langfuse's mapping and merge rules):
 * derived scores with their metadata and comments, a cleared comment, and a
 * trace export sent twice that still shows one generation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LangfuseServer } from '../../local/langfuse/server.ts';
import type { SyncConfig } from '../../supabase/functions/_shared/langfuse/config.ts';
import { runSync, type SyncDeps } from '../../supabase/functions/_shared/langfuse/sync.ts';
import { langfuseTraceId } from '../../supabase/functions/_shared/langfuse/trace-id.ts';
import { get } from '../local/langfuse-http.ts';
import { insertCoachTurn, insertScore, insertUser } from '../support/rows.ts';
import { type SyncFixture, startSyncFixture } from '../support/sync-fixture.ts';
import type { TestDatabase } from '../support/test-database.ts';

interface ScoreView {
  id: string;
  name: string;
  value: number;
  comment: string | null;
  metadata: Record<string, unknown>;
}
interface TraceView {
  observations: { id: string; type: string }[];
  scores: ScoreView[];
  totalCost: number;
}

let fixture: SyncFixture;
let db: TestDatabase;
let langfuse: LangfuseServer;
let now: Date;

beforeAll(async () => {
  fixture = await startSyncFixture({}, { version: 'v3' });
  ({ db, langfuse } = fixture);
});
afterAll(() => fixture?.stop());
beforeEach(async () => {
  langfuse.reset();
  now = new Date();
  await db.sql`delete from public.langfuse_traces`;
});

const deps = (overrides: Partial<SyncConfig> = {}): SyncDeps =>
  fixture.deps({ now: () => now }, overrides);

async function traceView(traceId: string): Promise<TraceView> {
  const reply = await get<TraceView>(
    langfuse,
    `/api/public/traces/${langfuseTraceId(traceId)}`,
    'TraceWithFullDetails',
  );
  expect(reply.status).toBe(200);
  return reply.body;
}

describe('the trace in Langfuse after a sync', () => {
  it('carries the derived scores with their metadata and comments', async () => {
    const user = await insertUser(db.sql);
    const { traceId } = await insertCoachTurn(db.sql, user.id);
    // The turn was two days ago, a completed mission that day, a message the day after.
    const day = new Date(now.getTime() - 2 * 86_400_000);
    const date = day.toISOString().slice(0, 10);
    await db.sql`update public.langfuse_traces set created_at = ${day} where trace_id = ${traceId}`;
    await db.sql`
      insert into public.daily_statuses (user_id, status_date, mission, mission_completed, mission_completed_at)
      values (${user.id}, ${date}, 'Walk 20 minutes', true, ${day})
    `;
    await db.sql`
      insert into public.ai_coach_messages (user_id, conversation_id, role, content, created_at)
      values (${user.id}, gen_random_uuid(), 'user', 'back again', ${new Date(day.getTime() + 86_400_000)})
    `;
    const summary = await runSync(deps());
    expect(summary.derived).toMatchObject({ mission_completed: 1, next_day_activity: 1 });

    const scores = (await traceView(traceId)).scores;
    const byName = new Map(scores.map((score) => [score.name, score]));
    expect(byName.get('mission_completed')).toMatchObject({
      value: 1,
      comment: `Mission "Walk 20 minutes" on ${date}: completed`,
      metadata: { day: date, mission: 'Walk 20 minutes' },
    });
    expect(byName.get('next_day_activity')).toMatchObject({
      value: 1,
      comment: expect.stringMatching(/^Active on the next day, /),
    });
    expect(langfuse.orphanedScores()).toEqual([]);
  });

  it('clears a comment the user removed', async () => {
    const user = await insertUser(db.sql);
    const { traceId } = await insertCoachTurn(db.sql, user.id);
    const scoreId = await insertScore(db.sql, traceId);
    await db.sql`update public.langfuse_scores set comment = 'Useful' where id = ${scoreId}`;
    await runSync(deps());
    expect((await traceView(traceId)).scores[0]?.comment).toBe('Useful');

    await db.sql`update public.langfuse_scores set comment = null where id = ${scoreId}`;
    now = new Date(now.getTime() + 1000);
    await runSync(deps());
    expect((await traceView(traceId)).scores).toEqual([
      expect.objectContaining({ id: scoreId, comment: null }),
    ]);
  });

  it('shows one generation when an export that timed out is sent again', async () => {
    const user = await insertUser(db.sql);
    const { traceId } = await insertCoachTurn(db.sql, user.id);
    await db.sql`
      update public.langfuse_traces set metadata = metadata || '{"cost_usd": 0.002, "input_tokens": 10, "output_tokens": 5}'
      where trace_id = ${traceId}
    `;
    langfuse.faults.delayMs = 600;
    const slow = await runSync(deps({ langfuse: { ...fixture.settings, timeoutMs: 200 } }));
    expect(slow.tracesExported).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 700)); // Langfuse took it after all
    langfuse.faults.delayMs = 0;
    now = new Date(now.getTime() + 3_600_000);
    expect((await runSync(deps())).tracesExported).toBe(1);

    expect(langfuse.spans.get(langfuseTraceId(traceId))).toHaveLength(4);
    const view = await traceView(traceId);
    expect(view.observations.map((o) => o.type).sort()).toEqual(['GENERATION', 'SPAN']);
    expect(view.totalCost).toBeCloseTo(0.002, 10);
  });
});
