/**
 * Sending scores: pending ones (and failed attempts now due) go to Langfuse
 * as score-create events on /api/public/ingestion, through @langfuse/client.
 * Each batch is claimed with FOR UPDATE SKIP LOCKED in its own transaction,
 * so concurrent runs never send the same row, and a run that dies releases
 * its rows. The 207 answer is read per event.
 *
 * Stable ids make resending harmless: body.id is the score's Langfuse id (our
 * id, or the new one the trace-id repair gave it; Langfuse upserts on it) and
 * the envelope is dated by the score's content (updated_at), so a retry is
 * the same event and a changed feedback is newer. A score names its trace by
 * the trace's Langfuse id (trace-id.ts) and is filed in the trace's
 * environment, so it shows on the trace in Langfuse.
 */
import type { LangfuseClient } from '@langfuse/client';
import type { Sql, TransactionSql } from 'postgres';
import type { SyncConfig } from './config.ts';
import { nextAttemptAt, type Outcome, outcomeForStatus, parseRetryAfter } from './retry.ts';
import { langfuseTraceId } from './trace-id.ts';

/** Langfuse's limits: at most 3.5 MB a request; 100 events keeps requests small and fast. */
export const MAX_EVENTS_PER_BATCH = 100;
export const MAX_BATCH_BYTES = 3_400_000;

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
  updated_at: Date;
}

export interface ScoreEvent {
  type: 'score-create';
  id: string;
  timestamp: string;
  body: {
    id: string;
    traceId: string;
    name: string;
    value: number;
    dataType: 'BOOLEAN';
    /** null clears a comment in Langfuse; an absent one would keep the old. */
    comment: string | null;
    metadata?: unknown;
    environment: string;
  };
}

export function scoreEvent(row: PendingScore, environment: string): ScoreEvent {
  const id = row.langfuse_score_id ?? row.id;
  return {
    type: 'score-create',
    id: `${id}:${row.updated_at.getTime()}`,
    timestamp: row.updated_at.toISOString(),
    body: {
      id,
      traceId: langfuseTraceId(row.trace_id),
      name: row.score_name,
      value: Number(row.value),
      dataType: 'BOOLEAN',
      comment: row.comment || null,
      ...(row.metadata ? { metadata: row.metadata } : {}),
      environment: row.environment ?? environment,
    },
  };
}

/** The longest prefix of `events` that fits one request. */
export function fitBatch<T>(events: T[], maxBytes = MAX_BATCH_BYTES): T[] {
  let bytes = 20;
  const fitted: T[] = [];
  for (const event of events) {
    bytes += new TextEncoder().encode(JSON.stringify(event)).byteLength + 1;
    if (fitted.length > 0 && bytes > maxBytes) break;
    fitted.push(event);
  }
  return fitted;
}

export interface BatchReport {
  claimed: number;
  sent: number;
  failed: number;
  retried: number;
  /** Set when the whole request failed: the peer is down or refuses us; stop for this run. */
  stop: string | null;
  errors: string[];
}

/** A failed @langfuse/client call as an outcome, and why the run stops. */
export function requestFailure(
  error: unknown,
  now: Date,
  what = 'ingestion',
): { outcome: Outcome; stop: string; status: number | null } {
  const failure = error as {
    statusCode?: number;
    rawResponse?: { headers?: Headers };
    message?: string;
  };
  const message = failure?.message ?? String(error);
  if (typeof failure?.statusCode === 'number') {
    const retryAfter = parseRetryAfter(failure.rawResponse?.headers?.get?.('retry-after'), now);
    const outcome = outcomeForStatus(
      failure.statusCode,
      `HTTP ${failure.statusCode}: ${message}`,
      retryAfter,
    );
    return { outcome, stop: `${what} answered ${failure.statusCode}`, status: failure.statusCode };
  }
  return {
    outcome: { kind: 'retry', error: message },
    stop: `${what} failed: ${message}`,
    status: null,
  };
}

async function applyOutcomes(
  tx: TransactionSql,
  rows: PendingScore[],
  outcomes: Map<string, Outcome>,
  config: SyncConfig,
  now: Date,
): Promise<Pick<BatchReport, 'sent' | 'failed' | 'retried' | 'errors'>> {
  const report = { sent: 0, failed: 0, retried: 0, errors: [] as string[] };
  const updates = rows.map((row) => {
    const outcome = outcomes.get(row.id) ?? { kind: 'retry', error: 'no result for this event' };
    const attempts = row.attempts + 1;
    if (outcome.kind === 'delivered') {
      report.sent += 1;
      const traceRef = langfuseTraceId(row.trace_id);
      return {
        id: row.id,
        status: 'sent',
        sent: true,
        attempts,
        next: null,
        error: null,
        trace_ref: traceRef,
      };
    }
    report.errors.push(`${row.id}: ${outcome.error}`);
    if (outcome.kind === 'rejected' || attempts >= config.maxAttempts) {
      report.failed += 1;
      return {
        id: row.id,
        status: 'failed',
        sent: false,
        attempts,
        next: null,
        error: outcome.error,
        trace_ref: null,
      };
    }
    report.retried += 1;
    const next = nextAttemptAt(now, attempts, outcome.retryAfterSeconds);
    return {
      id: row.id,
      status: 'pending',
      sent: false,
      attempts,
      next: next.toISOString(),
      error: outcome.error,
      trace_ref: null,
    };
  });
  await tx`
    update public.langfuse_scores s set
      status = u.status,
      sent_at = case when u.sent then ${now} else null end,
      attempts = u.attempts,
      next_attempt_at = u.next,
      last_error = u.error,
      -- Langfuse keeps the trace id a score was created with: record the first.
      delivered_trace_id = coalesce(s.delivered_trace_id, u.trace_ref)
    from jsonb_to_recordset(${tx.json(updates as never)})
      as u(id uuid, status text, sent boolean, attempts integer, next timestamptz, error text,
        trace_ref text)
    where s.id = u.id
  `;
  return report;
}

/** Claims, sends and settles one batch of due scores. */
export async function sendScoreBatch(
  sql: Sql,
  client: LangfuseClient,
  config: SyncConfig,
  now: Date,
  limit = MAX_EVENTS_PER_BATCH,
): Promise<BatchReport> {
  return sql.begin(async (tx) => {
    // A score whose misfiled copy is not deleted yet waits (score-repair.ts).
    const claimed = await tx<PendingScore[]>`
      select s.id, s.langfuse_score_id, s.trace_id, t.metadata->>'environment' as environment,
        s.score_name, s.value::text as value, s.comment, s.metadata, s.attempts, s.updated_at
      from public.langfuse_scores s
      join public.langfuse_traces t on t.trace_id = s.trace_id
      where s.status = 'pending' and s.stale_langfuse_score_id is null
        and (s.next_attempt_at is null or s.next_attempt_at <= ${now})
      order by s.next_attempt_at nulls first, s.created_at
      limit ${Math.min(limit, MAX_EVENTS_PER_BATCH)}
      for update of s skip locked
    `;
    const empty = { claimed: 0, sent: 0, failed: 0, retried: 0, stop: null, errors: [] };
    if (claimed.length === 0) return empty;
    const events = fitBatch(claimed.map((row) => scoreEvent(row, config.environment)));
    const rows = claimed.slice(0, events.length);
    const scoreOfEvent = new Map(events.map((event, i) => [event.id, rows[i]?.id as string]));
    const outcomes = new Map<string, Outcome>();
    let stop: string | null = null;
    try {
      // The spec allows a null comment (ScoreBody.comment is nullable); the SDK's type does not.
      const batch = events as unknown as Parameters<
        LangfuseClient['api']['ingestion']['batch']
      >[0]['batch'];
      const result = await client.api.ingestion.batch(
        { batch },
        { maxRetries: 0, timeoutInSeconds: config.langfuse.timeoutMs / 1000 },
      );
      for (const success of result.successes) {
        const scoreId = scoreOfEvent.get(success.id);
        if (scoreId) outcomes.set(scoreId, outcomeForStatus(success.status, ''));
      }
      for (const error of result.errors) {
        const scoreId = scoreOfEvent.get(error.id);
        const detail = [error.message, error.error ? JSON.stringify(error.error) : '']
          .filter(Boolean)
          .join(' ');
        if (scoreId)
          outcomes.set(scoreId, outcomeForStatus(error.status, `${error.status} ${detail}`.trim()));
      }
    } catch (error) {
      const failure = requestFailure(error, now);
      stop = failure.stop;
      if (failure.outcome.kind === 'rejected') {
        // The whole request was refused (credentials, permissions): not these rows' fault. Leave them.
        return { ...empty, claimed: rows.length, stop, errors: [failure.outcome.error] };
      }
      for (const row of rows) outcomes.set(row.id, failure.outcome);
    }
    const report = await applyOutcomes(tx, rows, outcomes, config, now);
    return { claimed: rows.length, ...report, stop };
  });
}
