/**
 * Retention for the local stack and `npm run db:cleanup`: the SQL cleanups,
 * called batch after batch until each has nothing left (or a batch cap), so
 * every transaction stays short. Hosted Supabase runs the same functions from
 * pg_cron (supabase/schedules/retention.sql), one batch a run.
 */
import type { Sql } from 'postgres';

/** Every five minutes, here and in supabase/schedules/retention.sql (a test keeps them equal). */
export const RETENTION_CRON = '*/5 * * * *';
export const DEFAULT_RETENTION_DAYS = 90;
export const DEFAULT_BATCH_RUN_KEEP_DAYS = 30;

export interface RetentionReport {
  traces: number;
  rateLimitWindows: number;
  batchRuns: number;
}

async function drain(run: () => Promise<number>, maxBatches: number): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const deleted = await run();
    total += deleted;
    if (deleted === 0) break;
  }
  return total;
}

export async function runRetention(
  sql: Sql,
  options: { retentionDays?: number; batchSize?: number; maxBatches?: number } = {},
): Promise<RetentionReport> {
  const days = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  const size = options.batchSize ?? 5000;
  const max = options.maxBatches ?? 1000;
  const one = async (query: Promise<{ n: number }[]>) => (await query)[0]?.n ?? 0;
  return {
    traces: await drain(
      () => one(sql`select public.cleanup_old_traces(${days}, ${size}) as n`),
      max,
    ),
    rateLimitWindows: await drain(
      () => one(sql`select public.cleanup_rate_limit_logs('1 day', ${size}) as n`),
      max,
    ),
    batchRuns: await drain(
      () =>
        one(sql`select public.cleanup_batch_runs(${DEFAULT_BATCH_RUN_KEEP_DAYS}, ${size}) as n`),
      max,
    ),
  };
}
