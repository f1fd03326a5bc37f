/**
 * The trace-id repair, against the local Langfuse server (which applies
 * Langfuse's rule that a score's trace never changes): scores an earlier
 * version filed under the dashed UUID end up on their trace, once each.
 */
import type { LangfuseClient } from '@langfuse/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LangfuseServer } from '../../local/langfuse/server.ts';
import { systemClock } from '../../supabase/functions/_shared/coach/deps.ts';
import { createDatabase } from '../../supabase/functions/_shared/db/client.ts';
import { runSync, type SyncDeps } from '../../supabase/functions/_shared/langfuse/sync.ts';
import { langfuseTraceId } from '../../supabase/functions/_shared/langfuse/trace-id.ts';
import { get as getFromLangfuse } from '../local/langfuse-http.ts';
import { insertCoachTurn, insertScore, insertUser } from '../support/rows.ts';
import { type SyncFixture, startSyncFixture } from '../support/sync-fixture.ts';
import type { TestDatabase } from '../support/test-database.ts';

let fixture: SyncFixture;
let db: TestDatabase;
let langfuse: LangfuseServer;
let client: LangfuseClient;

beforeAll(async () => {
  fixture = await startSyncFixture({}, { version: 'v3' });
  ({ db, langfuse } = fixture);
  client = fixture.client;
});
afterAll(() => fixture?.stop());
beforeEach(async () => {
  langfuse.reset();
  await db.sql`delete from public.langfuse_traces`;
});

const deps = (): SyncDeps => fixture.deps(systemClock);
const get = (path: string) => getFromLangfuse<Record<string, unknown>>(langfuse, path);

/**
 * What the sync before this release did: the trace went over OTLP, and the
 * score as score-create with traceId = the dashed UUID. The row is left as
 * the migration leaves such rows (delivered_trace_id = the dashed UUID).
 */
async function deliveredTheOldWay(n: number): Promise<{ traceId: string; scoreId: string }[]> {
  const user = await insertUser(db.sql);
  const out: { traceId: string; scoreId: string }[] = [];
  for (let i = 0; i < n; i += 1) {
    const { traceId } = await insertCoachTurn(db.sql, user.id);
    out.push({ traceId, scoreId: await insertScore(db.sql, traceId, 'user_feedback', i % 2) });
  }
  const ids = out.map((row) => row.scoreId);
  await db.sql`update public.langfuse_scores set status = 'sent' where id = any(${ids}::uuid[])`;
  await runSync(deps()); // exports the traces; the scores count as sent
  await client.api.ingestion.batch({
    batch: out.map(({ traceId, scoreId }, i) => ({
      type: 'score-create' as const,
      id: `${scoreId}:old`,
      timestamp: new Date().toISOString(),
      body: {
        id: scoreId,
        traceId,
        name: 'user_feedback',
        value: i % 2,
        dataType: 'BOOLEAN' as const,
        environment: 'test',
      },
    })),
  });
  await db.sql`
    update public.langfuse_scores set sent_at = now(), attempts = 1, delivered_trace_id = trace_id::text
    where id = any(${ids}::uuid[])
  `;
  return out;
}

describe('the trace-id repair (npm run sync -- --resend-sent)', () => {
  it('moves misfiled scores onto their traces: the old copy deleted, a new one on the trace', async () => {
    const rows = await deliveredTheOldWay(3);
    expect(
      langfuse
        .orphanedScores()
        .map((s) => s.id)
        .sort(),
    ).toEqual(rows.map((r) => r.scoreId).sort());

    // Sending under the same id cannot fix it: Langfuse keeps a score's first traceId.
    await db.sql`update public.langfuse_scores set comment = 'resent' where id = ${rows[0]?.scoreId as string}`;
    await runSync(deps());
    expect(langfuse.orphanedScores()).toHaveLength(3);

    const summary = await runSync(deps(), { resendMisfiled: true });
    expect(summary).toMatchObject({ scoresRequeued: 3, staleScoresDeleted: 3, scoresSent: 3 });
    expect(summary.stoppedBecause).toEqual([]);
    expect(langfuse.orphanedScores()).toEqual([]);

    const stored = await db.sql<
      {
        id: string;
        langfuse_score_id: string;
        stale: string | null;
        delivered: string;
        status: string;
      }[]
    >`
      select id, langfuse_score_id, stale_langfuse_score_id as stale, delivered_trace_id as delivered, status
      from public.langfuse_scores where score_name = 'user_feedback'
    `;
    for (const { traceId, scoreId } of rows) {
      const row = stored.find((r) => r.id === scoreId);
      expect(row).toMatchObject({
        stale: null,
        status: 'sent',
        delivered: langfuseTraceId(traceId),
      });
      expect(row?.langfuse_score_id).not.toBe(scoreId);
      const view = await get(`/api/public/traces/${langfuseTraceId(traceId)}`);
      expect(view.status).toBe(200);
      const scores = view.body.scores as { id: string; name: string; traceId: string }[];
      expect(scores.map((s) => [s.id, s.traceId])).toEqual([
        [row?.langfuse_score_id, langfuseTraceId(traceId)],
      ]);
    }
    for (const { scoreId } of rows) {
      expect((await get(`/api/public/scores/${scoreId}`)).status).toBe(404);
    }

    const again = await runSync(deps(), { resendMisfiled: true });
    expect(again).toMatchObject({ scoresRequeued: 0, staleScoresDeleted: 0, scoresSent: 0 });
  });

  it('keeps a score waiting while its old copy cannot be deleted, and never sends it twice', async () => {
    const [row] = await deliveredTheOldWay(1);
    langfuse.faults.status = { code: 503, paths: ['scores'], times: 1 };
    const blocked = await runSync(deps(), { resendMisfiled: true });
    expect(blocked).toMatchObject({ scoresRequeued: 1, staleScoresDeleted: 0, scoresSent: 0 });
    expect(blocked.stoppedBecause.join()).toMatch(/score delete answered 503/);

    await db.sql`update public.langfuse_scores set next_attempt_at = null where id = ${row?.scoreId as string}`;
    const done = await runSync(deps());
    expect(done).toMatchObject({ staleScoresDeleted: 1, scoresSent: 1 });
    expect(langfuse.orphanedScores()).toEqual([]);
    const view = await get(`/api/public/traces/${langfuseTraceId(row?.traceId as string)}`);
    expect(view.body.scores).toHaveLength(1);
  });

  it("runs at 400 ms per delete on a pool with the functions' idle limit: each copy deleted once", async () => {
    const rows = await deliveredTheOldWay(6);
    // Postgres ends a transaction idle for 600 ms; every delete takes 400 ms.
    const pool = createDatabase(db.url, { max: 4, timeoutMs: 300 });
    try {
      langfuse.faults.delayMs = 400;
      const summary = await runSync(
        fixture.deps(
          systemClock,
          { langfuse: { ...fixture.settings, timeoutMs: 1000 } },
          { sql: pool },
        ),
        { resendMisfiled: true },
      );
      // A batch stops starting deletes after one timeout; the next batch goes on.
      expect(summary).toMatchObject({ scoresRequeued: 6, staleScoresDeleted: 6, scoresSent: 6 });
      const deletes = langfuse.requests.filter(
        (r) => r.path.startsWith('/api/public/scores/') && r.status < 300,
      );
      expect(deletes).toHaveLength(6);
      expect(langfuse.orphanedScores()).toEqual([]);
      for (const { traceId } of rows) {
        const view = await get(`/api/public/traces/${langfuseTraceId(traceId)}`);
        expect(view.body.scores).toHaveLength(1);
      }
    } finally {
      await pool.end({ timeout: 1 });
    }
  });
});
