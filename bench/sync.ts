/**
 * The Langfuse part of `npm run bench`: one sync pass over 10,000 pending
 * scores (2,500 traces exported in the same pass) to the local Langfuse
 * server: time, peak memory, scores per minute (target >= 20,000).
 */
import { LangfuseClient } from '@langfuse/client';
import { startLangfuseServer } from '../local/langfuse/server.ts';
import { connect } from '../local/tooling/connect.ts';
import { ensureUser } from '../local/tooling/users.ts';
import { loadSyncConfig } from '../supabase/functions/_shared/langfuse/config.ts';
import { runSync } from '../supabase/functions/_shared/langfuse/sync.ts';
import { round } from './lib/stats.ts';
import { insertSyncBacklog } from './lib/sync-backlog.ts';

export interface SyncBench {
  pendingScores: number;
  scoresSent: number;
  tracesExported: number;
  deliveredToLangfuse: number;
  seconds: number;
  scoresPerMinute: number;
  peakRssMb: number;
  rssGrowthMb: number;
}

export async function benchSync(databaseUrl: string, pendingScores = 10_000): Promise<SyncBench> {
  const db = connect(databaseUrl);
  const user = await ensureUser(db, 'bench@example.com');
  await db`delete from public.langfuse_traces`;
  await insertSyncBacklog(db, user.id, { traces: pendingScores / 4, scoresPerTrace: 4 });
  const langfuse = await startLangfuseServer();
  try {
    const config = loadSyncConfig({
      LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
      LANGFUSE_SECRET_KEY: langfuse.secretKey,
      LANGFUSE_BASE_URL: langfuse.url,
      SYNC_MAX_SCORES: String(pendingScores),
      SYNC_MAX_TRACES: String(pendingScores),
      SYNC_TIME_BUDGET_MS: '600000',
    });
    global.gc?.();
    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 5);
    const started = performance.now();
    const summary = await runSync({
      sql: db,
      config,
      clock: { now: () => new Date() },
      langfuse: new LangfuseClient({
        publicKey: langfuse.publicKey,
        secretKey: langfuse.secretKey,
        baseUrl: langfuse.url,
      }),
    });
    const elapsedMs = performance.now() - started;
    clearInterval(sampler);
    return {
      pendingScores,
      scoresSent: summary.scoresSent,
      tracesExported: summary.tracesExported,
      deliveredToLangfuse: langfuse.scores.size,
      seconds: round(elapsedMs / 1000),
      scoresPerMinute: Math.round((summary.scoresSent / elapsedMs) * 60_000),
      peakRssMb: round(peakRss / 2 ** 20),
      rssGrowthMb: round((peakRss - baselineRss) / 2 ** 20),
    };
  } finally {
    await langfuse.stop();
    await db.end();
  }
}
