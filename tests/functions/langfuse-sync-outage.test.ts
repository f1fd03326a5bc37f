/**
 * Postgres stops or freezes while Langfuse holds a batch, on a server of this
 * file's own (a real Postgres 17, halted and SIGSTOPped): what Langfuse
 * accepted is recorded when the database is back within the record budget;
 * past it, the results are logged whole, kept, and recorded by the next run
 * of the instance without sending anything again. Another instance resends
 * only after the lease lapsed: the documented window, harmless for scores.
 */
import { LangfuseClient } from '@langfuse/client';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import { createMigratedDatabase } from '../../local/postgres/migrated-database.ts';
import {
  type ClusterControl,
  startTestCluster,
  type TestCluster,
} from '../../local/postgres/throwaway-cluster.ts';
import { createDatabase } from '../../supabase/functions/_shared/db/client.ts';
import { isUnavailable } from '../../supabase/functions/_shared/http/errors.ts';
import {
  batchLeaseMs,
  loadSyncConfig,
  type SyncConfig,
} from '../../supabase/functions/_shared/langfuse/config.ts';
import {
  runSync,
  type SyncDeps,
  UnrecordedResults,
} from '../../supabase/functions/_shared/langfuse/sync.ts';
import { insertPendingFeedback } from '../support/rows.ts';
import { scoreDeliveries, traceDeliveries } from '../support/sync-fixture.ts';

let cluster: TestCluster;
let control: ClusterControl;
let admin: Sql;
let pool: Sql;
let langfuse: LangfuseServer;
let client: LangfuseClient;
let config: SyncConfig;
let now: Date;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({});
  control = cluster.control as ClusterControl;
  const url = await createMigratedDatabase(cluster, 'sync_outage');
  admin = postgres(url, { max: 2, onnotice: () => {} });
  pool = createDatabase(url, { max: 4, timeoutMs: 500 });
  langfuse = await startLangfuseServer();
  client = new LangfuseClient({
    publicKey: langfuse.publicKey,
    secretKey: langfuse.secretKey,
    baseUrl: langfuse.url,
  });
  config = loadSyncConfig({
    LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
    LANGFUSE_SECRET_KEY: langfuse.secretKey,
    LANGFUSE_BASE_URL: langfuse.url,
    LANGFUSE_TIMEOUT_MS: '3000',
    DB_TIMEOUT_MS: '500',
    SYNC_RECORD_BUDGET_MS: '8000',
    APP_ENVIRONMENT: 'test',
  });
}, 180_000);
afterAll(async () => {
  await control?.resume();
  await pool?.end({ timeout: 1 });
  await admin?.end({ timeout: 1 });
  await langfuse?.stop();
  await cluster?.stop();
});
beforeEach(async () => {
  langfuse.reset();
  logs.length = 0;
  now = new Date();
  await admin`delete from public.langfuse_traces`;
  await admin`delete from public.langfuse_batch_runs`;
});

const deps = (extra: Partial<SyncDeps> = {}, overrides: Partial<SyncConfig> = {}): SyncDeps => ({
  sql: pool,
  langfuse: client,
  config: { ...config, ...overrides },
  clock: { now: () => now },
  log: (entry) => logs.push(entry),
  unrecorded: new UnrecordedResults(),
  ...extra,
});

/** The first request of `kind` Langfuse stores runs `then` before it is answered. */
function whenLangfuseHolds(kind: 'otel' | 'ingestion', then: () => Promise<void>): void {
  langfuse.faults.beforeAnswer = async (held) => {
    if (held !== kind) return;
    langfuse.faults.beforeAnswer = null;
    await then();
  };
}

async function expectAllSentOnce(scoreIds: string[], traces: number): Promise<void> {
  expect([...scoreDeliveries(langfuse).entries()].sort()).toEqual(
    scoreIds.map((id) => [id, 1]).sort(),
  );
  expect([...traceDeliveries(langfuse).values()]).toEqual(Array(traces).fill(1));
  const rows = await admin`
    select count(*)::int as n from public.langfuse_scores
    where status <> 'sent' or claimed_by is not null
  `;
  expect(rows[0]?.n).toBe(0);
}

describe('Postgres goes away while Langfuse holds a batch', () => {
  it('stopped, back within the record budget: recorded, nothing sent twice', async () => {
    const { scoreIds } = await insertPendingFeedback(admin, 5);
    whenLangfuseHolds('ingestion', async () => {
      await control.halt();
      setTimeout(() => void control.start(), 1500);
    });
    const summary = await runSync(deps());
    expect(summary).toMatchObject({ scoresSent: 5, tracesExported: 5, stoppedBecause: [] });
    await expectAllSentOnce(scoreIds, 5);
    now = new Date(now.getTime() + 60_000);
    expect(await runSync(deps())).toMatchObject({ scoresSent: 0, tracesExported: 0 });
    await expectAllSentOnce(scoreIds, 5);
  }, 60_000);

  it('frozen, thawed within the budget: the late commit and its retry agree', async () => {
    const { scoreIds } = await insertPendingFeedback(admin, 5);
    whenLangfuseHolds('otel', async () => {
      await control.pause();
      setTimeout(() => void control.resume(), 1500);
    });
    const summary = await runSync(deps());
    expect(summary).toMatchObject({ scoresSent: 5, tracesExported: 5, stoppedBecause: [] });
    const [traces] = await admin`
      select count(*)::int as n, sum(export_attempts)::int as attempts from public.langfuse_traces
      where exported_at is not null and export_claimed_by is null
    `;
    expect(traces).toEqual({ n: 5, attempts: 5 });
    await expectAllSentOnce(scoreIds, 5);
  }, 60_000);

  it('down past the budget: logged whole, kept, and recorded by the next run without resending', async () => {
    const { scoreIds } = await insertPendingFeedback(admin, 5);
    const unrecorded = new UnrecordedResults();
    whenLangfuseHolds('ingestion', () => control.halt());
    const failed = await runSync(deps({ unrecorded }, { recordBudgetMs: 1000 })).then(
      () => null,
      (error: unknown) => error,
    );
    // The function answers such an error 503; the run stops.
    expect(isUnavailable(failed)).toBe(true);
    const lost = logs.filter((line) => line.msg === 'langfuse sync results not recorded');
    expect(lost).toEqual([
      expect.objectContaining({ level: 'error', kind: 'score results', rows: 5 }),
    ]);
    expect([...((lost[0]?.accepted as string[]) ?? [])].sort()).toEqual([...scoreIds].sort());
    expect(unrecorded.size).toBe(1);

    await control.start();
    now = new Date(now.getTime() + 60_000);
    const next = await runSync(deps({ unrecorded }));
    expect(next).toMatchObject({ carriedRecordsWritten: 1, scoresSent: 0 });
    expect(unrecorded.size).toBe(0);
    await expectAllSentOnce(scoreIds, 5);

    // The stopped run's row stays open until no run could still be alive, then ends once.
    now = new Date(now.getTime() + config.timeBudgetMs + batchLeaseMs(config));
    const later = await runSync(deps({ unrecorded }));
    expect(later.abandonedRuns).toHaveLength(1);
    const [open] = await admin`
      select count(*)::int as n from public.langfuse_batch_runs where completed_at is null
    `;
    expect(open?.n).toBe(0);
  }, 60_000);

  it('another instance resends only after the lease lapsed; Langfuse keeps one score per id', async () => {
    const { scoreIds } = await insertPendingFeedback(admin, 3);
    whenLangfuseHolds('ingestion', () => control.halt());
    await runSync(deps({}, { recordBudgetMs: 500 })).catch(() => {});
    await control.start();

    // A fresh instance knows nothing of that run: the lease keeps the rows until it lapses.
    now = new Date(now.getTime() + 10_000);
    expect((await runSync(deps())).scoresSent).toBe(0);
    now = new Date(now.getTime() + batchLeaseMs(config));
    expect((await runSync(deps())).scoresSent).toBe(3);
    // The documented window: sent twice, stored once (Langfuse upserts a score by its id).
    expect([...scoreDeliveries(langfuse).values()]).toEqual([2, 2, 2]);
    expect([...langfuse.scores.keys()].sort()).toEqual([...scoreIds].sort());
  }, 60_000);
});
