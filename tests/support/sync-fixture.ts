/**
 * The Langfuse sync's test bench: a test database, the local Langfuse server,
 * the sync's settings pointing at it, and SyncDeps on a clock the test moves.
 */
import { LangfuseClient } from '@langfuse/client';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import type { Clock } from '../../supabase/functions/_shared/coach/deps.ts';
import {
  loadSyncConfig,
  type SyncConfig,
} from '../../supabase/functions/_shared/langfuse/config.ts';
import type { SyncDeps } from '../../supabase/functions/_shared/langfuse/sync.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export interface SyncFixture {
  db: TestDatabase;
  langfuse: LangfuseServer;
  config: SyncConfig;
  /** The sync's dependencies on `clock`, with settings overridden for one run. */
  deps(clock: Clock, overrides?: Partial<SyncConfig>): SyncDeps;
  stop(): Promise<void>;
}

export async function startSyncFixture(env: Record<string, string> = {}): Promise<SyncFixture> {
  const db = await createTestDatabase();
  const langfuse = await startLangfuseServer();
  const config = loadSyncConfig({
    LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
    LANGFUSE_SECRET_KEY: langfuse.secretKey,
    LANGFUSE_BASE_URL: langfuse.url,
    APP_ENVIRONMENT: 'test',
    ...env,
  });
  const client = new LangfuseClient({
    publicKey: langfuse.publicKey,
    secretKey: langfuse.secretKey,
    baseUrl: langfuse.url,
  });
  return {
    db,
    langfuse,
    config,
    deps: (clock, overrides = {}) => ({
      sql: db.sql,
      config: { ...config, ...overrides },
      clock,
      langfuse: client,
    }),
    async stop() {
      await langfuse.stop();
      await db.drop();
    },
  };
}
