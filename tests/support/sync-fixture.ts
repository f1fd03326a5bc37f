/**
 * The Langfuse sync's test bench: a test database, the local Langfuse server,
 * the sync's settings pointing at it, and SyncDeps on a clock the test moves.
 */
import { LangfuseClient } from '@langfuse/client';
import {
  type LangfuseServer,
  type LangfuseServerOptions,
  startLangfuseServer,
} from '../../local/langfuse/server.ts';
import type { Clock } from '../../supabase/functions/_shared/coach/deps.ts';
import {
  type LangfuseSettings,
  loadSyncConfig,
  type SyncConfig,
} from '../../supabase/functions/_shared/langfuse/config.ts';
import {
  ScoreRoute,
  type SyncDeps,
  UnrecordedResults,
} from '../../supabase/functions/_shared/langfuse/sync.ts';
import { insertPendingFeedback } from './rows.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export interface SyncFixture {
  db: TestDatabase;
  langfuse: LangfuseServer;
  config: SyncConfig;
  /** config.langfuse: the local server's URL and keys. */
  settings: LangfuseSettings;
  client: LangfuseClient;
  /** What the runs logged (each run's log lines, e.g. results it could not record). */
  logs: Record<string, unknown>[];
  /**
   * The sync's dependencies on `clock`, with settings overridden for one run;
   * a fresh UnrecordedResults unless `extra` brings one.
   */
  deps(clock: Clock, overrides?: Partial<SyncConfig>, extra?: Partial<SyncDeps>): SyncDeps;
  /** A test's clean slate: Langfuse emptied and its faults cleared, no traces, scores or runs. */
  reset(): Promise<void>;
  /** n traces of one new user, each with a pending user_feedback score. */
  pendingScores(n: number): Promise<{ scoreIds: string[]; traceIds: string[] }>;
  /** How often Langfuse accepted each score (score-create events by score id). */
  scoreDeliveries(): Map<string, number>;
  /** How often Langfuse accepted each trace (root spans by Langfuse trace id). */
  traceDeliveries(): Map<string, number>;
  stop(): Promise<void>;
}

/** How often Langfuse accepted each score (score-create events by score id). */
export function scoreDeliveries(langfuse: LangfuseServer): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of langfuse.scoreEvents) {
    const id = String(event.body.id);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** How often Langfuse accepted each trace (root spans by Langfuse trace id). */
export function traceDeliveries(langfuse: LangfuseServer): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [traceId, spans] of langfuse.spans)
    counts.set(traceId, spans.filter((span) => span.parentSpanId === '').length);
  return counts;
}

/** `server`: the local Langfuse's options (v4 unless told, Cloud's rate limits if asked). */
export async function startSyncFixture(
  env: Record<string, string> = {},
  server: LangfuseServerOptions = {},
): Promise<SyncFixture> {
  const db = await createTestDatabase();
  const langfuse = await startLangfuseServer(server);
  const config = loadSyncConfig({
    LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
    LANGFUSE_SECRET_KEY: langfuse.secretKey,
    LANGFUSE_BASE_URL: langfuse.url,
    APP_ENVIRONMENT: 'test',
    ...env,
  });
  const settings = config.langfuse as LangfuseSettings;
  const client = new LangfuseClient({
    publicKey: langfuse.publicKey,
    secretKey: langfuse.secretKey,
    baseUrl: langfuse.url,
  });
  const logs: Record<string, unknown>[] = [];
  return {
    db,
    langfuse,
    config,
    settings,
    client,
    logs,
    deps: (clock, overrides = {}, extra = {}) => ({
      sql: db.sql,
      config: { ...config, ...overrides },
      clock,
      langfuse: client,
      log: (entry) => logs.push(entry),
      unrecorded: new UnrecordedResults(),
      scoreRoute: new ScoreRoute(),
      ...extra,
    }),
    async reset() {
      langfuse.reset();
      await db.sql`delete from public.langfuse_traces`;
      await db.sql`delete from public.langfuse_batch_runs`;
    },
    pendingScores: (n) => insertPendingFeedback(db.sql, n),
    scoreDeliveries: () => scoreDeliveries(langfuse),
    traceDeliveries: () => traceDeliveries(langfuse),
    async stop() {
      await langfuse.stop();
      await db.drop();
    },
  };
}
