/**
 * One run of the Langfuse sync:
 *
 *   record the run -> [re-queue misfiled scores, when asked] -> derive due
 *   scores -> roll new traces into usage_daily -> export traces (OTLP) ->
 *   delete misfiled score copies -> send scores (ingestion, 207) -> complete
 *   the run with its counts and errors
 *
 * Work is bounded by a count and a time budget, so a run ends well inside the
 * Edge Function wall clock; what is left waits for the next run. A run that
 * crashed leaves its batch-run row without completed_at and its claims
 * released (each batch is its own transaction), so the next run simply takes
 * the rows; it names such runs in its errors.
 */
import type { LangfuseClient } from '@langfuse/client';
import type { Sql } from 'postgres';
import type { Clock } from '../coach/deps.ts';
import type { SyncConfig } from './config.ts';
import { deleteStaleScoreBatch } from './score-repair.ts';
import { MAX_EVENTS_PER_BATCH, sendScoreBatch } from './scores.ts';
import { exportTraceBatch } from './traces.ts';

export const BATCH_NAME = 'langfuse-sync';
const ROLLUP_BATCH = 10_000;

export interface SyncDeps {
  sql: Sql;
  langfuse: LangfuseClient;
  config: SyncConfig;
  clock: Clock;
  fetch?: typeof fetch;
}

export interface SyncOptions {
  /**
   * The trace-id repair: re-queue every score Langfuse filed under another
   * trace id (public.requeue_misfiled_langfuse_scores), so this run deletes
   * those copies and sends the scores again under new ids.
   */
  resendMisfiled?: boolean;
}

export interface SyncSummary {
  runId: string;
  scoresCreated: number;
  /** Scores re-queued by the trace-id repair in this run (resendMisfiled). */
  scoresRequeued: number;
  /** Misfiled score copies deleted in Langfuse. */
  staleScoresDeleted: number;
  derived: Record<string, number>;
  usageRolledUp: number;
  tracesExported: number;
  scoresSent: number;
  scoresFailed: number;
  scoresRetried: number;
  stoppedBecause: string[];
  abandonedRuns: string[];
  durationMs: number;
}

export async function runSync(deps: SyncDeps, options: SyncOptions = {}): Promise<SyncSummary> {
  const { sql, config, clock } = deps;
  const runId = crypto.randomUUID();
  const startedAt = clock.now();
  const startedMs = performance.now();
  const deadline = startedMs + config.timeBudgetMs;
  const timeLeft = () => performance.now() < deadline;
  await sql`insert into public.langfuse_batch_runs (id, batch_name, started_at) values (${runId}, ${BATCH_NAME}, ${startedAt})`;

  const abandoned = await sql<{ id: string }[]>`
    select id from public.langfuse_batch_runs
    where batch_name = ${BATCH_NAME} and completed_at is null and id <> ${runId}
      and started_at < ${startedAt}::timestamptz - make_interval(secs => ${Math.ceil(config.timeBudgetMs / 1000) * 2})
    order by started_at limit 20
  `;
  let scoresRequeued = 0;
  if (options.resendMisfiled) {
    const [row] = await sql<{ n: number }[]>`select public.requeue_misfiled_langfuse_scores() as n`;
    scoresRequeued = row?.n ?? 0;
  }
  const [derivedRow] = await sql<{ counts: Record<string, number> }[]>`
    select public.derive_scores(${startedAt}, ${config.weeklyThreshold}) as counts
  `;
  const derived = derivedRow?.counts ?? { total: 0 };

  // The usage rollup, a batch at a time, within the same budget.
  let usageRolledUp = 0;
  while (timeLeft()) {
    const [rolled] = await sql<{ n: number }[]>`select public.roll_up_usage(${ROLLUP_BATCH}) as n`;
    usageRolledUp += rolled?.n ?? 0;
    if ((rolled?.n ?? 0) < ROLLUP_BATCH) break;
  }

  const summary: SyncSummary = {
    runId,
    scoresCreated: derived.total ?? 0,
    scoresRequeued,
    staleScoresDeleted: 0,
    derived,
    usageRolledUp,
    tracesExported: 0,
    scoresSent: 0,
    scoresFailed: 0,
    scoresRetried: 0,
    stoppedBecause: [],
    abandonedRuns: abandoned.map((row) => row.id),
    durationMs: 0,
  };
  const sampleErrors: string[] = [];

  let tracesSeen = 0;
  while (tracesSeen < config.maxTraces && timeLeft()) {
    const batch = await exportTraceBatch(
      sql,
      config,
      clock.now(),
      Math.min(config.traceBatch, config.maxTraces - tracesSeen),
      deps.fetch,
    );
    tracesSeen += batch.claimed;
    summary.tracesExported += batch.exported;
    if (batch.stop) summary.stoppedBecause.push(batch.stop);
    if (batch.claimed === 0 || batch.stop) break;
  }

  while (timeLeft()) {
    const batch = await deleteStaleScoreBatch(sql, deps.langfuse, config, clock.now());
    summary.staleScoresDeleted += batch.deleted;
    if (batch.stop) summary.stoppedBecause.push(batch.stop);
    if (batch.claimed === 0 || batch.stop) break;
  }

  let scoresSeen = 0;
  while (scoresSeen < config.maxScores && timeLeft()) {
    const batch = await sendScoreBatch(
      sql,
      deps.langfuse,
      config,
      clock.now(),
      Math.min(MAX_EVENTS_PER_BATCH, config.maxScores - scoresSeen),
    );
    scoresSeen += batch.claimed;
    summary.scoresSent += batch.sent;
    summary.scoresFailed += batch.failed;
    summary.scoresRetried += batch.retried;
    sampleErrors.push(...batch.errors.slice(0, 10 - sampleErrors.length));
    if (batch.stop) summary.stoppedBecause.push(batch.stop);
    if (batch.claimed === 0 || batch.stop) break;
  }
  if (!timeLeft()) summary.stoppedBecause.push('time budget used up');

  summary.durationMs = Math.round(performance.now() - startedMs);
  const problems =
    summary.stoppedBecause.length ||
    sampleErrors.length ||
    summary.abandonedRuns.length ||
    summary.scoresFailed
      ? {
          stoppedBecause: summary.stoppedBecause,
          scoresFailed: summary.scoresFailed,
          scoresRetried: summary.scoresRetried,
          sampleErrors,
          abandonedRuns: summary.abandonedRuns,
        }
      : null;
  await sql`
    update public.langfuse_batch_runs set
      scores_created = ${summary.scoresCreated},
      scores_sent = ${summary.scoresSent},
      errors = ${problems ? sql.json(problems as never) : null},
      completed_at = ${clock.now()}
    where id = ${runId}
  `;
  return summary;
}
