/**
 * The sync without Langfuse keys: it still derives scores and rolls usage up,
 * sends nothing (scores stay pending for when keys are set), says so, and
 * retention works: a pending score holds its trace only while the sync sends
 * to Langfuse.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetention } from '../../scripts/lib/retention.ts';
import { loadSyncConfig } from '../../supabase/functions/_shared/langfuse/config.ts';
import { runSync } from '../../supabase/functions/_shared/langfuse/sync.ts';
import { insertScore, insertUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
const now = new Date();
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

async function traceAt(userId: string, at: Date): Promise<string> {
  const traceId = randomUUID();
  await db.sql`
    insert into public.langfuse_traces (trace_id, entity_type, entity_id, user_id, input, output, metadata, created_at)
    values (${traceId}, 'ai_coach_message', ${randomUUID()}, ${userId}, 'in', 'out',
      '{"model":"gpt-4o-mini","input_tokens":10,"output_tokens":5,"total_tokens":15,"status":"success"}', ${at})
  `;
  return traceId;
}

describe('the sync without Langfuse keys', () => {
  it('derives scores, rolls up usage, sends nothing, and lets retention delete old traces', async () => {
    const config = loadSyncConfig({ APP_ENVIRONMENT: 'test' });
    expect(config.langfuse).toBeNull();
    const user = await insertUser(db.sql);
    const recent = await traceAt(user.id, daysAgo(3));
    const old = await traceAt(user.id, daysAgo(100));
    await insertScore(db.sql, old, 'user_feedback', 1);

    const summary = await runSync({
      sql: db.sql,
      langfuse: null,
      config,
      clock: { now: () => now },
      log: () => {},
    });
    expect(summary).toMatchObject({
      langfuse: 'not configured',
      usageRolledUp: 2,
      tracesExported: 0,
      scoresSent: 0,
      stoppedBecause: [],
    });
    // The recent message's next day has passed without activity.
    expect(summary.derived).toMatchObject({ next_day_activity: 1 });
    const [derived] = await db.sql`
      select value::int as value, status from public.langfuse_scores
      where trace_id = ${recent} and score_name = 'next_day_activity'
    `;
    expect(derived).toEqual({ value: 0, status: 'pending' });
    const [run] = await db.sql`
      select langfuse_configured, completed_at, errors from public.langfuse_batch_runs where id = ${summary.runId}
    `;
    expect(run).toEqual({ langfuse_configured: false, completed_at: now, errors: null });

    // The old trace has a pending score and nobody will send it: retention takes it.
    const report = await runRetention(db.sql, { retentionDays: 90 });
    expect(report.traces).toBe(1);
    const left = await db.sql`select trace_id from public.langfuse_traces`;
    expect(left.map((row) => row.trace_id)).toEqual([recent]);
    const [pending] =
      await db.sql`select count(*)::int as n from public.langfuse_scores where status = 'pending'`;
    expect(pending?.n).toBe(1);
  });

  it('keeps an old trace with a pending score once the latest run sends to Langfuse again', async () => {
    const user = await insertUser(db.sql);
    const old = await traceAt(user.id, daysAgo(100));
    await insertScore(db.sql, old, 'user_feedback', 1);
    await db.sql`update public.langfuse_traces set rolled_up_at = now() where trace_id = ${old}`;
    await db.sql`
      insert into public.langfuse_batch_runs (id, batch_name, started_at, completed_at, langfuse_configured)
      values (${randomUUID()}, 'langfuse-sync', now(), now(), true)
    `;
    expect((await runRetention(db.sql, { retentionDays: 90 })).traces).toBe(0);
    const [kept] =
      await db.sql`select count(*)::int as n from public.langfuse_traces where trace_id = ${old}`;
    expect(kept?.n).toBe(1);
  });
});
