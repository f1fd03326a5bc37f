/**
 * Sending scores: pending ones (and failed attempts now due) go to Langfuse
 * as score-create events on /api/public/ingestion, through @langfuse/client.
 * Claim, commit, send, record (run.ts): a batch is claimed with a lease, sent
 * with no transaction open, and recorded in another statement, so two runs
 * never send the same row and a run that dies only leaves a lease that lapses.
 * The answer must be an IngestionResponse (the spec's schema), read per event;
 * anything else is a failed attempt.
 *
 * Stable ids make resending harmless: body.id is the score's Langfuse id (our
 * id, or the new one the trace-id repair gave it; Langfuse upserts on it) and
 * the envelope is dated by the score's content (updated_at), so a retry is
 * the same event and a changed feedback is newer. A score names its trace by
 * the trace's Langfuse id (trace-id.ts) and is filed in the trace's
 * environment, so it shows on the trace in Langfuse.
 */
import type { LangfuseClient } from '@langfuse/client';
import { z } from 'zod';
import type { LangfuseSettings } from './config.ts';
import { nextAttemptAt, type Outcome, outcomeForStatus, parseRetryAfter } from './retry.ts';
import { recordResults, type SyncRun } from './run.ts';
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
  /** updated_at exactly (microseconds), as the record compares it. */
  version: string;
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

/** Per-request options of @langfuse/client: no retries of its own, the whole answer bounded. */
export function requestOptions(langfuse: LangfuseSettings) {
  // The client's own timeout stops at the headers; the signal bounds the body too.
  const abortSignal = AbortSignal.timeout(langfuse.timeoutMs);
  return {
    maxRetries: 0,
    timeoutInSeconds: langfuse.timeoutMs / 1000,
    abortSignal,
  };
}

/** A failed @langfuse/client call as an outcome, and why the run stops. */
export function requestFailure(
  error: unknown,
  now: Date,
  what = 'ingestion',
  signal?: AbortSignal,
): { outcome: Outcome; stop: string; status: number | null } {
  if (signal?.aborted) {
    const message = 'no complete answer within the Langfuse timeout';
    return {
      outcome: { kind: 'retry', error: message },
      stop: `${what} failed: ${message}`,
      status: null,
    };
  }
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

/** POST /api/public/ingestion's answer (IngestionResponse in Langfuse's OpenAPI spec). */
export const IngestionResponseSchema = z.object({
  successes: z.array(z.object({ id: z.string(), status: z.number().int() })),
  errors: z.array(
    z.object({
      id: z.string(),
      status: z.number().int(),
      message: z.string().nullish(),
      error: z.unknown().optional(),
    }),
  ),
});

interface ScoreResult {
  id: string;
  version: string;
  attempted: boolean;
  status: 'sent' | 'pending' | 'failed';
  attempts: number;
  next: string | null;
  error: string | null;
  trace_ref: string | null;
}

function resultOf(
  row: PendingScore,
  outcome: Outcome | undefined,
  maxAttempts: number,
  now: Date,
): ScoreResult {
  const attempts = row.attempts + 1;
  const base = { id: row.id, version: row.version, attempted: true, attempts };
  if (!outcome) {
    return {
      ...base,
      attempted: false,
      status: 'pending',
      next: null,
      error: null,
      trace_ref: null,
    };
  }
  if (outcome.kind === 'delivered') {
    const trace_ref = langfuseTraceId(row.trace_id);
    return { ...base, status: 'sent', next: null, error: null, trace_ref };
  }
  if (outcome.kind === 'rejected' || attempts >= maxAttempts) {
    return { ...base, status: 'failed', next: null, error: outcome.error, trace_ref: null };
  }
  const next = nextAttemptAt(now, attempts, outcome.retryAfterSeconds).toISOString();
  return { ...base, status: 'pending', next, error: outcome.error, trace_ref: null };
}

/** The events' outcomes from Langfuse's answer, by score id. */
async function sendEvents(
  client: LangfuseClient,
  langfuse: LangfuseSettings,
  events: ScoreEvent[],
  scoreOfEvent: Map<string, string>,
  now: Date,
): Promise<{ outcomes: Map<string, Outcome>; stop: string | null; refused: boolean }> {
  const outcomes = new Map<string, Outcome>();
  const options = requestOptions(langfuse);
  try {
    // The spec allows a null comment (ScoreBody.comment is nullable); the SDK's type does not.
    const batch = events as unknown as Parameters<
      LangfuseClient['api']['ingestion']['batch']
    >[0]['batch'];
    const raw = await client.api.ingestion.batch({ batch }, options);
    const answer = IngestionResponseSchema.safeParse(raw);
    if (!answer.success) {
      const error = `an answer that is no IngestionResponse: ${JSON.stringify(raw)?.slice(0, 200)}`;
      for (const scoreId of scoreOfEvent.values()) outcomes.set(scoreId, { kind: 'retry', error });
      return { outcomes, stop: `ingestion failed: ${error}`, refused: false };
    }
    for (const success of answer.data.successes) {
      const scoreId = scoreOfEvent.get(success.id);
      if (scoreId) outcomes.set(scoreId, outcomeForStatus(success.status, ''));
    }
    for (const error of answer.data.errors) {
      const scoreId = scoreOfEvent.get(error.id);
      const detail = [error.message, error.error ? JSON.stringify(error.error) : '']
        .filter(Boolean)
        .join(' ');
      if (scoreId)
        outcomes.set(scoreId, outcomeForStatus(error.status, `${error.status} ${detail}`.trim()));
    }
    // An event the answer does not name was not taken.
    for (const scoreId of scoreOfEvent.values())
      if (!outcomes.has(scoreId))
        outcomes.set(scoreId, { kind: 'retry', error: 'no result for this event' });
    return { outcomes, stop: null, refused: false };
  } catch (error) {
    const failure = requestFailure(error, now, 'ingestion', options.abortSignal);
    // The whole request refused (credentials, permissions): not these rows' fault. Leave them.
    if (failure.outcome.kind === 'rejected') return { outcomes, stop: failure.stop, refused: true };
    for (const scoreId of scoreOfEvent.values()) outcomes.set(scoreId, failure.outcome);
    return { outcomes, stop: failure.stop, refused: false };
  }
}

/** Claims, sends and records one batch of due scores. */
export async function sendScoreBatch(
  run: SyncRun,
  client: LangfuseClient,
  langfuse: LangfuseSettings,
  limit = MAX_EVENTS_PER_BATCH,
): Promise<BatchReport> {
  const { sql, config } = run;
  const now = run.clock.now();
  const claimed = await run.db(
    'claim scores',
    () => sql<PendingScore[]>`
      select *, to_jsonb(updated_at) #>> '{}' as version
      from public.claim_langfuse_scores(${run.id}, ${Math.min(limit, MAX_EVENTS_PER_BATCH)}, ${run.leaseSeconds}, ${now})
    `,
  );
  const report: BatchReport = {
    claimed: 0,
    sent: 0,
    failed: 0,
    retried: 0,
    stop: null,
    errors: [],
  };
  if (claimed.length === 0) return report;
  const events = fitBatch(claimed.map((row) => scoreEvent(row, config.environment)));
  const scoreOfEvent = new Map(events.map((event, i) => [event.id, claimed[i]?.id as string]));
  const sent = await sendEvents(client, langfuse, events, scoreOfEvent, now);
  report.claimed = claimed.length;
  report.stop = sent.stop;
  if (sent.refused && sent.stop) report.errors.push(sent.stop);

  // Rows past what fitted one request, or of a refused request, are only released.
  const results = claimed.map((row) =>
    resultOf(row, sent.outcomes.get(row.id), config.maxAttempts, now),
  );
  for (const result of results) {
    if (!result.attempted) continue;
    if (result.status === 'sent') report.sent += 1;
    else report.errors.push(`${result.id}: ${result.error}`);
    if (result.status === 'failed') report.failed += 1;
    if (result.status === 'pending') report.retried += 1;
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
