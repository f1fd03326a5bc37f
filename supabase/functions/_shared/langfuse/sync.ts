/**
 * One run of the Langfuse sync:
 *
 *   open the run's row -> record what an earlier run of this instance could
 *   not -> close the rows of runs that died -> [re-queue misfiled scores, when
 *   asked] -> derive due scores -> roll new traces into usage_daily -> export
 *   traces (OTLP) -> delete misfiled score copies -> send scores (ingestion,
 *   207) -> complete the row with the run's counts and errors
 *
 * Without Langfuse keys the run stops after the rollup: scores stay pending.
 * No transaction is open while Langfuse is asked anything (claim, commit,
 * send, record: run.ts). Work is bounded by a count and a time budget, so a
 * run ends well inside the Edge Function wall clock and its CPU limit; what is
 * left waits for the next run. A database failure ends the run with an error
 * (the function answers 503); its row is completed if the database allows,
 * else the next run closes it.
 */
import type { LangfuseClient } from '@langfuse/client';
import type { Sql } from 'postgres';
import type { Clock } from '../coach/deps.ts';
import { describeError } from '../http/errors.ts';
import { consoleLogger, type Logger } from '../log.ts';
import { closeAbandonedRuns, completeRunRow, openRunRow } from './batch-runs.ts';
import type { LangfuseSettings, SyncConfig } from './config.ts';
import { type SyncRun, startRun, UnrecordedResults } from './run.ts';
import { ScoreRoute } from './score-create.ts';
import { deleteStaleScoreBatch, type RepairProgress, repairProgress } from './score-repair.ts';
import { MAX_EVENTS_PER_BATCH, sendScoreBatch } from './scores.ts';
import { exportTraceBatch } from './traces.ts';

export { BATCH_NAME } from './batch-runs.ts';
export { UnrecordedResults } from './run.ts';
export { ScoreRoute } from './score-create.ts';

const ROLLUP_BATCH = 10_000;

export interface SyncDeps {
  sql: Sql;
  /** Null without Langfuse keys (config.langfuse is null then too). */
  langfuse: LangfuseClient | null;
  config: SyncConfig;
  clock: Clock;
  log?: Logger;
  /** What runs of this instance could not record; one per function instance. */
  unrecorded?: UnrecordedResults;
  /** The scores' path and the scores API's pace; one per function instance. */
  scoreRoute?: ScoreRoute;
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
  langfuse: 'configured' | 'not configured';
  /** Batches an earlier run of this instance sent but could not record, recorded now. */
  carriedRecordsWritten: number;
  scoresCreated: number;
  /** Scores re-queued to be deleted and sent under a new id: the trace-id repair
   * (resendMisfiled), or a copy Langfuse files under another day. */
  scoresRequeued: number;
  /** Misfiled score copies deleted in Langfuse. */
  staleScoresDeleted: number;
  /** While copies wait to be deleted: how many, what today's limit allows, a rough end. */
  repair: RepairProgress | null;
  /** How scores went: the ingestion endpoint, or the scores API once ingestion refused them. */
  scoresPath: 'ingestion' | 'scores API' | null;
  derived: Record<string, number>;
  usageRolledUp: number;
  tracesExported: number;
  /** Traces Langfuse refused for their content; not sent again. */
  tracesFailed: number;
  scoresSent: number;
  scoresFailed: number;
  scoresRetried: number;
  stoppedBecause: string[];
  /** Runs that died, closed by this run. */
  abandonedRuns: string[];
  durationMs: number;
}

const processUnrecorded = new UnrecordedResults();
const processScoreRoute = new ScoreRoute();

export async function runSync(deps: SyncDeps, options: SyncOptions = {}): Promise<SyncSummary> {
  const { sql, config, clock } = deps;
  const run = startRun({
    sql,
    config,
    clock,
    log: deps.log ?? consoleLogger,
    unrecorded: deps.unrecorded ?? processUnrecorded,
  });
  const startedAt = clock.now();
  const startedMs = performance.now();
  const sending = deps.langfuse && config.langfuse ? config.langfuse : null;
  const summary: SyncSummary = {
    runId: run.id,
    langfuse: sending ? 'configured' : 'not configured',
    carriedRecordsWritten: 0,
    scoresCreated: 0,
    scoresRequeued: 0,
    staleScoresDeleted: 0,
    repair: null,
    scoresPath: null,
    derived: { total: 0 },
    usageRolledUp: 0,
    tracesExported: 0,
    tracesFailed: 0,
    scoresSent: 0,
    scoresFailed: 0,
    scoresRetried: 0,
    stoppedBecause: [],
    abandonedRuns: [],
    durationMs: 0,
  };
  const sampleErrors: string[] = [];
  await openRunRow(run, startedAt);
  try {
    summary.carriedRecordsWritten = await run.unrecorded.flush(run.log);
    summary.abandonedRuns = await closeAbandonedRuns(run, startedAt);
    await prepare(run, summary, startedAt, options);
    if (sending && deps.langfuse) {
      const route = deps.scoreRoute ?? processScoreRoute;
      await send(
        run,
        { client: deps.langfuse, langfuse: sending, route, fetch: deps.fetch },
        summary,
        sampleErrors,
      );
      const progress = await repairProgress(run);
      if (progress.remaining > 0 || options.resendMisfiled) summary.repair = progress;
    }
    if (!run.timeLeft()) summary.stoppedBecause.push('time budget used up');
  } catch (error) {
    summary.stoppedBecause.push(`stopped: ${describeError(error)}`);
    summary.durationMs = Math.round(performance.now() - startedMs);
    // The database may be the reason: then the next run closes this row.
    await completeRunRow(run, summary, problemsOf(summary, sampleErrors)).catch(() => {});
    throw error;
  }
  summary.durationMs = Math.round(performance.now() - startedMs);
  await completeRunRow(run, summary, problemsOf(summary, sampleErrors));
  return summary;
}

/** Everything that needs no Langfuse: the repair's re-queue, derived scores, the usage rollup. */
async function prepare(
  run: SyncRun,
  summary: SyncSummary,
  startedAt: Date,
  options: SyncOptions,
): Promise<void> {
  const { sql, config } = run;
  if (options.resendMisfiled) {
    const [row] = await run.db(
      'requeue misfiled scores',
      () => sql<{ n: number }[]>`select public.requeue_misfiled_langfuse_scores() as n`,
    );
    summary.scoresRequeued = row?.n ?? 0;
  }
  const [derivedRow] = await run.db(
    'derive scores',
    () => sql<{ counts: Record<string, number> }[]>`
      select public.derive_scores(${startedAt}, ${config.weeklyThreshold}) as counts
    `,
  );
  summary.derived = derivedRow?.counts ?? { total: 0 };
  summary.scoresCreated = summary.derived.total ?? 0;
  // The usage rollup, a batch at a time, within the same budget.
  while (run.timeLeft()) {
    const [rolled] = await run.db(
      'roll up usage',
      () => sql<{ n: number }[]>`select public.roll_up_usage(${ROLLUP_BATCH}) as n`,
    );
    summary.usageRolledUp += rolled?.n ?? 0;
    if ((rolled?.n ?? 0) < ROLLUP_BATCH) break;
  }
}

async function send(
  run: SyncRun,
  peer: {
    client: LangfuseClient;
    langfuse: LangfuseSettings;
    route: ScoreRoute;
    fetch?: typeof fetch;
  },
  summary: SyncSummary,
  sampleErrors: string[],
): Promise<void> {
  const { config } = run;
  const { client, langfuse, route } = peer;
  let tracesSeen = 0;
  while (tracesSeen < config.maxTraces && run.timeLeft()) {
    const limit = Math.min(config.traceBatch, config.maxTraces - tracesSeen);
    const batch = await exportTraceBatch(run, langfuse, limit, peer.fetch);
    tracesSeen += batch.claimed;
    summary.tracesExported += batch.exported;
    summary.tracesFailed += batch.failed;
    if (batch.stop) summary.stoppedBecause.push(batch.stop);
    if (batch.claimed === 0 || batch.stop) break;
  }

  while (run.timeLeft()) {
    const batch = await deleteStaleScoreBatch(run, client, langfuse);
    summary.staleScoresDeleted += batch.deleted;
    if (batch.stop) summary.stoppedBecause.push(batch.stop);
    if (batch.claimed === 0 || batch.stop) break;
  }

  let scoresSeen = 0;
  while (scoresSeen < config.maxScores && run.timeLeft()) {
    const limit = Math.min(MAX_EVENTS_PER_BATCH, config.maxScores - scoresSeen);
    summary.scoresPath = route.usesIngestion() ? 'ingestion' : 'scores API';
    const batch = await sendScoreBatch(run, client, langfuse, route, limit);
    scoresSeen += batch.claimed;
    summary.scoresRequeued += batch.requeued;
    summary.scoresSent += batch.sent;
    summary.scoresFailed += batch.failed;
    summary.scoresRetried += batch.retried;
    sampleErrors.push(...batch.errors.slice(0, 10 - sampleErrors.length));
    if (batch.stop) summary.stoppedBecause.push(batch.stop);
    if (batch.claimed === 0 || batch.stop) break;
  }
}

function problemsOf(summary: SyncSummary, sampleErrors: string[]): Record<string, unknown> | null {
  const clean =
    summary.stoppedBecause.length === 0 &&
    sampleErrors.length === 0 &&
    summary.abandonedRuns.length === 0 &&
    summary.scoresFailed === 0 &&
    summary.tracesFailed === 0;
  if (clean) return null;
  return {
    stoppedBecause: summary.stoppedBecause,
    scoresFailed: summary.scoresFailed,
    scoresRetried: summary.scoresRetried,
    tracesFailed: summary.tracesFailed,
    sampleErrors,
    abandonedRuns: summary.abandonedRuns,
  };
}
