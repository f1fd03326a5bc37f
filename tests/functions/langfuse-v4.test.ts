/**
 * The sync against the local Langfuse as Langfuse Cloud runs it since
 * 2026-11-16 (v4, observations first), read back as a Langfuse user reads it
 * now: the Observations API v2 and the Scores API v3. Every trace-wide field
 * on every observation, the call's input and output on the root, a lost
 * answer not turned into duplicates, one score per feedback across days.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LangfuseServer } from '../../local/langfuse/server.ts';
import type { SyncConfig } from '../../supabase/functions/_shared/langfuse/config.ts';
import { runSync } from '../../supabase/functions/_shared/langfuse/sync.ts';
import { langfuseTraceId } from '../../supabase/functions/_shared/langfuse/trace-id.ts';
import { get } from '../local/langfuse-http.ts';
import { type SyncFixture, startSyncFixture } from '../support/sync-fixture.ts';
import type { TestDatabase } from '../support/test-database.ts';

let fixture: SyncFixture;
let db: TestDatabase;
let langfuse: LangfuseServer;
let now: Date;
const clock = { now: () => now };
const run = (overrides: Partial<SyncConfig> = {}) => runSync(fixture.deps(clock, overrides));

beforeAll(async () => {
  fixture = await startSyncFixture({ LANGFUSE_TIMEOUT_MS: '2000' });
  ({ db, langfuse } = fixture);
  expect(langfuse.version).toBe('v4');
});
afterAll(() => fixture?.stop());
beforeEach(async () => {
  now = new Date();
  await fixture.reset();
});

interface ObservationV2 {
  id: string;
  type: string;
  parentObservationId: string | null;
  name: string | null;
  userId: string | null;
  sessionId: string | null;
  environment: string | null;
  version: string | null;
  traceName: string | null;
  tags: string[] | null;
  release: string | null;
  input: unknown;
  output: unknown;
}

async function observationsOf(traceId: string): Promise<ObservationV2[]> {
  const query = new URLSearchParams({
    traceId: langfuseTraceId(traceId),
    fields: 'core,basic,io,trace_context',
  });
  const reply = await get<{ data: ObservationV2[] }>(
    langfuse,
    `/api/public/v2/observations?${query}`,
  );
  expect(reply.status).toBe(200);
  expect(langfuse.invalidResponses).toEqual([]);
  return reply.body.data;
}

async function scoresOf(traceId: string) {
  const query = new URLSearchParams({
    traceId: langfuseTraceId(traceId),
    fields: 'details,subject',
  });
  const reply = await get<{
    data: { id: string; name: string; value: number; comment: string | null }[];
  }>(langfuse, `/api/public/v3/scores?${query}`);
  expect(reply.status).toBe(200);
  return reply.body.data;
}

describe('the sync against Langfuse v4', () => {
  it('puts every trace-wide field on every observation and the call on the root', async () => {
    const {
      traceIds: [traceId],
    } = await fixture.pendingScores(1);
    await db.sql`
      update public.langfuse_traces
      set metadata = metadata || '{"release":"r-42","prompt_version":"ai-coach@3"}'
      where trace_id = ${traceId as string}
    `;
    const [trace] = await db.sql`
      select t.user_id, t.input, t.output, m.conversation_id::text as session
      from public.langfuse_traces t join public.ai_coach_messages m on m.id = t.entity_id
      where t.trace_id = ${traceId as string}
    `;
    expect(await run()).toMatchObject({ tracesExported: 1, scoresSent: 1 });
    // Sent on v4's direct path: nothing took the delayed legacy path.
    expect(langfuse.legacyExports).toEqual([]);

    const observations = await observationsOf(traceId as string);
    expect(observations.map((o) => o.type).sort()).toEqual(['GENERATION', 'SPAN']);
    for (const observation of observations) {
      expect(observation).toMatchObject({
        userId: trace?.user_id,
        sessionId: trace?.session,
        traceName: 'ai-coach',
        tags: ['ai-coach'],
        environment: 'test',
        release: 'r-42',
        version: 'ai-coach@3',
      });
    }
    const root = observations.find((o) => o.parentObservationId === null);
    expect(root).toMatchObject({ type: 'SPAN', input: trace?.input, output: trace?.output });

    const scores = await scoresOf(traceId as string);
    expect(scores).toEqual([expect.objectContaining({ name: 'user_feedback', value: false })]);
  });

  it('keeps one score when the feedback changes on a later day', async () => {
    const {
      scoreIds: [scoreId],
      traceIds: [traceId],
    } = await fixture.pendingScores(1);
    // The feedback was given yesterday.
    const yesterday = new Date(now.getTime() - 86_400_000);
    await db.sql`update public.langfuse_scores set created_at = ${yesterday} where id = ${scoreId as string}`;
    expect((await run()).scoresSent).toBe(1);

    await db.sql`update public.langfuse_scores set value = 1, comment = 'changed my mind' where id = ${scoreId as string}`;
    now = new Date(now.getTime() + 60_000);
    expect((await run()).scoresSent).toBe(1);
    // Dated the day it was given, a millisecond later for the change.
    expect(langfuse.scoreEvents.map((e) => e.timestamp)).toEqual([
      yesterday.toISOString(),
      new Date(yesterday.getTime() + 1).toISOString(),
    ]);
    expect(await scoresOf(traceId as string)).toEqual([
      expect.objectContaining({ id: scoreId, value: true, comment: 'changed my mind' }),
    ]);
    // One stored score, not one a day (the list shows one row per id whatever is stored).
    expect(langfuse.v4.scores().filter((score) => score.id === scoreId)).toHaveLength(1);
  });

  it('does not duplicate an export whose answer was lost: it looks it up first', async () => {
    const {
      traceIds: [traceId],
    } = await fixture.pendingScores(1);
    // Langfuse stores the export, then answers after our timeout.
    langfuse.faults.beforeAnswer = async (kind) => {
      if (kind !== 'otel') return;
      langfuse.faults.beforeAnswer = null;
      await new Promise((resolve) => setTimeout(resolve, 800));
    };
    const lost = await run({ langfuse: { ...fixture.settings, timeoutMs: 300 } });
    expect(lost.tracesExported).toBe(0);
    const [row] = await db.sql`
      select exported_at, export_unconfirmed_at is not null as unconfirmed,
        export_next_attempt_at - ${now}::timestamptz >= interval '2 minutes' as waits
      from public.langfuse_traces where trace_id = ${traceId as string}
    `;
    expect(row).toEqual({ exported_at: null, unconfirmed: true, waits: true });

    now = new Date(now.getTime() + 3 * 60_000);
    await new Promise((resolve) => setTimeout(resolve, 600)); // the held answer goes out meanwhile
    const next = await run();
    expect(next.tracesExported).toBe(0);
    const [after] = await db.sql`
      select exported_at is not null as exported, export_unconfirmed_at from public.langfuse_traces
      where trace_id = ${traceId as string}
    `;
    expect(after).toEqual({ exported: true, export_unconfirmed_at: null });
    // One root and one generation: the spans went once.
    expect((await observationsOf(traceId as string)).length).toBe(2);
    expect(fixture.traceDeliveries().get(langfuseTraceId(traceId as string))).toBe(1);
  });

  it('sends the spans again when the lost export never reached Langfuse', async () => {
    const {
      traceIds: [traceId],
    } = await fixture.pendingScores(1);
    langfuse.faults.silent = true;
    await run({ langfuse: { ...fixture.settings, timeoutMs: 300 } });
    langfuse.faults.silent = false;
    now = new Date(now.getTime() + 3 * 60_000);
    expect((await run()).tracesExported).toBe(1);
    expect((await observationsOf(traceId as string)).length).toBe(2);
  });
});
