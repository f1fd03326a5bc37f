/**
 * Sending scores: pending ones (and failed attempts now due) go to Langfuse,
 * as score-create events on the ingestion endpoint (score-ingestion.ts) while
 * Langfuse takes them there, else one by one through the scores API at the
 * plan's pace (score-create.ts). Claim, commit, send, record (run.ts): a
 * batch is claimed with a lease, sent with no transaction open, and recorded
 * in another statement, so two runs never send the same row and a run that
 * dies only leaves a lease that lapses.
 *
 * Langfuse keeps one score per id, name and date of its timestamp: a score's
 * id is its Langfuse id (ours, or the new one the trace-id repair gave it), a
 * score names its trace by the trace's Langfuse id (trace-id.ts) and is filed
 * in the trace's environment, so it shows on the trace. A score whose next
 * delivery would be dated another day than the copy Langfuse holds (sent
 * before by the other path) is re-queued under a new id, its old copy
 * deleted first (score-repair.ts), so it never becomes two scores.
 */
import type { LangfuseClient } from '@langfuse/client';
import type { LangfuseSettings } from './config.ts';
import { nextAttemptAt, type Outcome } from './retry.ts';
import { recordResults, type SyncRun } from './run.ts';
import { createdScoreDate, createScores, type ScoreRoute } from './score-create.ts';
import { ingestedScoreDate, ingestScores, MAX_EVENTS_PER_BATCH } from './score-ingestion.ts';
import { langfuseTraceId } from './trace-id.ts';

export { MAX_EVENTS_PER_BATCH } from './score-ingestion.ts';

export interface PendingScore {
  id: string;
  /** The score's id in Langfuse when it is not id (re-created by the trace-id repair). */
  langfuse_score_id: string | null;
  trace_id: string;
  /** The environment of the score's trace, when the trace recorded one. */
  environment: string | null;
  score_name: string;
  value: string;
  comment: string | null;
  metadata: unknown;
  attempts: number;
  created_at: Date;
  updated_at: Date;
  /** Changes of value or comment so far (each change dates the event a millisecond later). */
  content_version: number;
  /** updated_at exactly (microseconds), as the record compares it. */
  version: string;
  /** The UTC date (YYYY-MM-DD) of the copy Langfuse holds, if it holds one. */
  score_date: string | null;
}

export interface BatchReport {
  claimed: number;
  sent: number;
  failed: number;
  retried: number;
  /** Re-queued to be deleted and sent under a new id (the copy is dated another day). */
  requeued: number;
  /** Set when the whole request failed: the peer is down or refuses us; stop for this run. */
  stop: string | null;
  errors: string[];
}

interface ScoreResult {
  id: string;
  version: string;
  attempted: boolean;
  status: 'sent' | 'pending' | 'failed' | 'requeue';
  attempts: number;
  next: string | null;
  error: string | null;
  trace_ref: string | null;
  score_date: string | null;
}

function resultOf(
  row: PendingScore,
  outcome: Outcome | 'requeue' | undefined,
  options: { maxAttempts: number; now: Date; scoreDate: string },
): ScoreResult {
  const attempts = row.attempts + 1;
  const base = { id: row.id, version: row.version, attempted: true, attempts };
  const plain = { next: null, error: null, trace_ref: null, score_date: null };
  if (!outcome) return { ...base, ...plain, attempted: false, status: 'pending' };
  if (outcome === 'requeue')
    return { ...base, ...plain, attempts: row.attempts, status: 'requeue' };
  if (outcome.kind === 'delivered') {
    const trace_ref = langfuseTraceId(row.trace_id);
    return { ...base, ...plain, status: 'sent', trace_ref, score_date: options.scoreDate };
  }
  if (outcome.kind === 'rejected' || attempts >= options.maxAttempts) {
    return { ...base, ...plain, status: 'failed', error: outcome.error };
  }
  const next = nextAttemptAt(options.now, attempts, outcome.retryAfterSeconds).toISOString();
  return { ...base, ...plain, status: 'pending', next, error: outcome.error };
}

/** Claims, sends and records one batch of due scores. */
export async function sendScoreBatch(
  run: SyncRun,
  client: LangfuseClient,
  langfuse: LangfuseSettings,
  route: ScoreRoute,
  limit = MAX_EVENTS_PER_BATCH,
): Promise<BatchReport> {
  const { sql, config } = run;
  const now = run.clock.now();
  const report: BatchReport = {
    claimed: 0,
    sent: 0,
    failed: 0,
    retried: 0,
    requeued: 0,
    stop: null,
    errors: [],
  };
  const ingesting = route.usesIngestion();
  // The scores API goes one score at a time: a batch is what one pass of its pace can send.
  const size = ingesting ? Math.min(limit, MAX_EVENTS_PER_BATCH) : Math.min(limit, 20);
  const claimed = await run.db(
    'claim scores',
    () => sql<PendingScore[]>`
      select *, to_jsonb(updated_at) #>> '{}' as version, langfuse_score_date::text as score_date
      from public.claim_langfuse_scores(${run.id}, ${size}, ${run.leaseSeconds}, ${now})
    `,
  );
  if (claimed.length === 0) return report;
  report.claimed = claimed.length;

  // The date Langfuse will file each delivery under, by path.
  const dateOf = (row: PendingScore) =>
    ingesting ? ingestedScoreDate(row) : createdScoreDate(now);
  const moved = new Set(claimed.filter((row) => row.score_date && row.score_date !== dateOf(row)));
  const sendable = claimed.filter((row) => !moved.has(row));
  const sendUntil = performance.now() + langfuse.timeoutMs;
  let outcomes = new Map<string, Outcome>();
  if (sendable.length > 0 && ingesting) {
    const answer = await ingestScores(client, langfuse, sendable, config.environment, now);
    ({ outcomes } = answer);
    report.stop = answer.stop;
    if (answer.refused && answer.stop) report.errors.push(answer.stop);
    if (answer.gone) {
      route.ingestionRefused();
      report.stop = null; // the next batch goes by the scores API
    }
  } else if (sendable.length > 0) {
    const answer = await createScores(client, langfuse, route, sendable, {
      environment: config.environment,
      perMinute: config.scoresPerMinute,
      until: sendUntil,
      now,
    });
    ({ outcomes } = answer);
    report.stop = answer.stop;
  }

  // Rows past what fitted one request, or of a refused request, are only released.
  const results = claimed.map((row) =>
    resultOf(row, moved.has(row) ? 'requeue' : outcomes.get(row.id), {
      maxAttempts: config.maxAttempts,
      now,
      scoreDate: dateOf(row),
    }),
  );
  for (const result of results) {
    if (!result.attempted) continue;
    if (result.status === 'sent') report.sent += 1;
    else if (result.status !== 'requeue') report.errors.push(`${result.id}: ${result.error}`);
    if (result.status === 'failed') report.failed += 1;
    if (result.status === 'pending') report.retried += 1;
    if (result.status === 'requeue') report.requeued += 1;
  }
  await recordResults(run, {
    runId: run.id,
    kind: 'score results',
    accepted: results.filter((r) => r.status === 'sent').map((r) => r.id),
    rows: results.length,
    write: () =>
      run.db(
        'record score results',
        () => sql`
          select public.record_langfuse_score_results(${run.id}, ${sql.json(results as never)}, ${now})
        `,
      ),
  });
  return report;
}
