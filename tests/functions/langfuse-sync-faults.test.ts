/**
 * The sync against a Langfuse that is slow, silent or answers nonsense, on a
 * pool made as the functions make it (statement and idle-in-transaction
 * limits): nothing crashes, nothing counts as sent without a valid answer,
 * every run's row ends, and after recovery every score and trace is in
 * Langfuse exactly once.
 */
import protobufRoot from 'otlp-protobuf/build/esm/generated/root.js';
import type { Sql } from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LangfuseServer } from '../../local/langfuse/server.ts';
import { createDatabase } from '../../supabase/functions/_shared/db/client.ts';
import type { SyncConfig } from '../../supabase/functions/_shared/langfuse/config.ts';
import { runSync } from '../../supabase/functions/_shared/langfuse/sync.ts';
import { type SyncFixture, startSyncFixture } from '../support/sync-fixture.ts';
import type { TestDatabase } from '../support/test-database.ts';

/** DB_TIMEOUT_MS: Postgres ends a transaction left idle for twice this. */
const DB_BOUND_MS = 500;
const LANGFUSE_TIMEOUT_MS = 1500;

let fixture: SyncFixture;
let db: TestDatabase;
let langfuse: LangfuseServer;
let pool: Sql;
let now: Date;
const clock = { now: () => now };

beforeAll(async () => {
  fixture = await startSyncFixture({
    LANGFUSE_TIMEOUT_MS: String(LANGFUSE_TIMEOUT_MS),
    DB_TIMEOUT_MS: String(DB_BOUND_MS),
    SYNC_RECORD_BUDGET_MS: '2000',
  });
  ({ db, langfuse } = fixture);
  pool = createDatabase(db.url, { max: 4, timeoutMs: DB_BOUND_MS });
});
afterAll(async () => {
  await pool?.end({ timeout: 1 });
  await fixture?.stop();
});
beforeEach(async () => {
  now = new Date();
  await fixture.reset();
});

const run = (overrides: Partial<SyncConfig> = {}) =>
  runSync(fixture.deps(clock, overrides, { sql: pool }));

async function traceRows() {
  return db.sql<
    {
      exported: boolean;
      failed: boolean;
      export_attempts: number;
      export_error: string | null;
      claimed: boolean;
    }[]
  >`
    select exported_at is not null as exported, export_failed_at is not null as failed,
      export_attempts, export_error, export_claimed_by is not null as claimed
    from public.langfuse_traces order by created_at
  `;
}

async function scoreRows() {
  return db.sql<
    { status: string; attempts: number; last_error: string | null; claimed: boolean }[]
  >`
    select status, attempts, last_error, claimed_by is not null as claimed
    from public.langfuse_scores order by created_at
  `;
}

/** Langfuse well again, a day later: every score and trace arrives, each once, every row ends. */
async function expectRecovery(scoreIds: string[], traceIds: string[]): Promise<void> {
  langfuse.reset();
  now = new Date(now.getTime() + 24 * 3_600_000);
  const summary = await run();
  expect(summary.stoppedBecause).toEqual([]);
  expect([...fixture.scoreDeliveries().entries()].sort()).toEqual(
    scoreIds.map((id) => [id, 1]).sort(),
  );
  expect(fixture.traceDeliveries().size).toBe(traceIds.length);
  expect([...fixture.traceDeliveries().values()].every((n) => n === 1)).toBe(true);
  const [open] = await db.sql`
    select count(*)::int as n from public.langfuse_batch_runs where completed_at is null
  `;
  expect(open?.n).toBe(0);
}

describe('a Langfuse that is slow, silent or answers nonsense', () => {
  it('slower than the idle-in-transaction limit: all delivered once, no transaction held', async () => {
    const { scoreIds } = await fixture.pendingScores(3);
    langfuse.faults.delayMs = DB_BOUND_MS * 2 + 300;
    const summary = await run();
    expect(summary).toMatchObject({ tracesExported: 3, scoresSent: 3, stoppedBecause: [] });
    expect([...fixture.scoreDeliveries().values()]).toEqual([1, 1, 1]);
    expect(scoreIds.every((id) => fixture.scoreDeliveries().get(id) === 1)).toBe(true);
    expect((await traceRows()).every((row) => row.exported && !row.claimed)).toBe(true);
    const [row] = await db.sql`select completed_at, errors from public.langfuse_batch_runs`;
    expect(row).toMatchObject({ completed_at: now, errors: null });
  });

  it('silent: each request ends at LANGFUSE_TIMEOUT_MS, rows back off, claims end', async () => {
    const { scoreIds, traceIds } = await fixture.pendingScores(2);
    langfuse.faults.silent = true;
    const started = performance.now();
    const summary = await run();
    // One trace request and one score request, each cut at the timeout.
    expect(performance.now() - started).toBeLessThan(2 * LANGFUSE_TIMEOUT_MS + 2000);
    expect(summary).toMatchObject({ tracesExported: 0, scoresSent: 0 });
    expect(summary.stoppedBecause.join(' ')).toContain(
      `no complete answer within ${LANGFUSE_TIMEOUT_MS} ms`,
    );
    expect(await traceRows()).toEqual(
      traceIds.map(() => ({
        exported: false,
        failed: false,
        export_attempts: 1,
        export_error: expect.stringContaining('no complete answer'),
        claimed: false,
      })),
    );
    expect((await scoreRows()).every((s) => s.status === 'pending' && s.attempts === 1)).toBe(true);
    await expectRecovery(scoreIds, traceIds);
  });

  it('a body that never ends is no answer: cut at the timeout, tried again later', async () => {
    const { scoreIds, traceIds } = await fixture.pendingScores(2);
    langfuse.faults.endlessBody = true;
    const summary = await run();
    expect(summary).toMatchObject({ tracesExported: 0, scoresSent: 0 });
    expect((await traceRows()).every((t) => !t.exported && t.export_attempts === 1)).toBe(true);
    expect((await scoreRows()).every((s) => s.status === 'pending' && !s.claimed)).toBe(true);
    await expectRecovery(scoreIds, traceIds);
  });

  it('an HTML page answered 200 exports nothing and sends nothing', async () => {
    const { scoreIds, traceIds } = await fixture.pendingScores(2);
    langfuse.faults.answer = {
      status: 200,
      contentType: 'text/html; charset=utf-8',
      body: '<!doctype html><html><body>Sign in to the Wi-Fi</body></html>',
    };
    const summary = await run();
    expect(summary).toMatchObject({ tracesExported: 0, scoresSent: 0 });
    const traces = await traceRows();
    expect(traces[0]?.export_error).toContain('not an OTLP answer (text/html');
    expect(traces.every((t) => !t.exported && !t.failed)).toBe(true);
    const scores = await scoreRows();
    expect(scores[0]?.last_error).toContain('no IngestionResponse');
    expect(scores.every((s) => s.status === 'pending')).toBe(true);
    await expectRecovery(scoreIds, traceIds);
  });

  it('a malformed 207 sends nothing; the scores are tried again', async () => {
    const { scoreIds, traceIds } = await fixture.pendingScores(2);
    langfuse.faults.answer = {
      status: 207,
      contentType: 'application/json',
      body: '{"successes":"all of them","errors":[]}',
      paths: ['ingestion'],
    };
    const summary = await run();
    expect(summary).toMatchObject({ tracesExported: 2, scoresSent: 0, scoresRetried: 2 });
    expect((await scoreRows()).every((s) => s.status === 'pending' && s.attempts === 1)).toBe(true);
    await expectRecovery(scoreIds, []);
    expect(fixture.traceDeliveries().size).toBe(0); // exported before the reset, not again
    expect(traceIds).toHaveLength(2);
  });

  it('spans Langfuse rejects (a partial success) fail their traces for good', async () => {
    await fixture.pendingScores(2);
    langfuse.faults.answer = {
      status: 200,
      contentType: 'application/json',
      body: '{"partialSuccess":{"rejectedSpans":"4","errorMessage":"span ids are not hex"}}',
      paths: ['otel'],
      times: 1,
    };
    const summary = await run();
    expect(summary).toMatchObject({ tracesExported: 0, tracesFailed: 2, scoresSent: 2 });
    expect(await traceRows()).toEqual([
      expect.objectContaining({
        failed: true,
        exported: false,
        export_error: 'Langfuse rejected 4 of 4 spans: span ids are not hex',
      }),
      expect.objectContaining({ failed: true, exported: false }),
    ]);
    now = new Date(now.getTime() + 24 * 3_600_000);
    expect((await run()).tracesExported).toBe(0);
    const [row] =
      await db.sql`select errors from public.langfuse_batch_runs order by started_at limit 1`;
    expect(row?.errors).toMatchObject({ tracesFailed: 2 });
  });

  it('reads a protobuf answer by its content type: an empty message is a success', async () => {
    const { traceIds } = await fixture.pendingScores(2);
    const Response = (
      protobufRoot as unknown as {
        opentelemetry: {
          proto: {
            collector: {
              trace: {
                v1: {
                  ExportTraceServiceResponse: { encode(m: unknown): { finish(): Uint8Array } };
                };
              };
            };
          };
        };
      }
    ).opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
    const partial = Response.encode({
      partialSuccess: { rejectedSpans: 2, errorMessage: 'too old' },
    }).finish();
    langfuse.faults.answer = {
      status: 200,
      contentType: 'application/x-protobuf',
      body: partial,
      paths: ['otel'],
      times: 1,
    };
    const first = await run({ otlpMaxBytes: 1 });
    expect(first.tracesFailed).toBe(1);
    expect(first.tracesExported).toBe(1);
    const rows = await traceRows();
    expect(rows.map((row) => row.export_error).filter(Boolean)).toEqual([
      'Langfuse rejected 2 of 2 spans: too old',
    ]);
    expect(traceIds).toHaveLength(2);
  });
});
