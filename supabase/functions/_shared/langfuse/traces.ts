/**
 * Exporting traces: each langfuse_traces row becomes one OpenTelemetry trace
 * (otel-spans.ts) and goes to Langfuse's OTLP endpoint (otlp-export.ts);
 * Langfuse v4 takes traces only there.
 *
 * Claim, commit, send, record (run.ts): a batch is claimed with a lease in one
 * statement, sent with no transaction open, and its results recorded in
 * another. Each span is exported once: v4 keeps every copy of a span id, so
 * an export whose answer was lost is marked unconfirmed, and before its next
 * attempt its trace is looked up in Langfuse (observation-check.ts); only the
 * spans Langfuse lacks are sent. Its cost: a lookup per such trace, and an
 * export retried no sooner than LOOKUP_AFTER_SECONDS after the lost answer.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { LangfuseSettings } from './config.ts';
import { LOOKUP_AFTER_SECONDS, spansInLangfuse } from './observation-check.ts';
import type { TraceRow } from './otel-spans.ts';
import { type ExportOutcome, encodeTraceRequests, postTraces } from './otlp-export.ts';
import { nextAttemptAt } from './retry.ts';
import { recordResults, type SyncRun } from './run.ts';
import { langfuseTraceId } from './trace-id.ts';

export { buildSpans, type TraceRow } from './otel-spans.ts';
export { encodeTraceRequests, postTraces } from './otlp-export.ts';

export interface TraceBatchReport {
  claimed: number;
  exported: number;
  /** Refused by Langfuse for their content: export_failed_at set, never sent again. */
  failed: number;
  /** Unconfirmed exports found in Langfuse after all, so not sent again. */
  confirmed: number;
  stop: string | null;
}

interface TraceResult {
  trace_id: string;
  attempted: boolean;
  exported: boolean;
  failed: boolean;
  unconfirmed: boolean;
  error: string | null;
  next: string | null;
}

const released = (row: TraceRow): TraceResult => ({
  trace_id: row.trace_id,
  attempted: false,
  exported: false,
  failed: false,
  unconfirmed: false,
  error: null,
  next: null,
});

function resultOf(row: TraceRow, outcome: ExportOutcome, now: Date): TraceResult {
  const attempts = row.export_attempts + 1;
  if (outcome.kind !== 'retry') {
    return {
      ...released(row),
      attempted: true,
      exported: outcome.kind === 'exported',
      failed: outcome.kind === 'rejected',
      error: outcome.kind === 'exported' ? null : outcome.error,
    };
  }
  const unconfirmed = outcome.unconfirmed === true;
  const wait = Math.max(outcome.retryAfterSeconds ?? 0, unconfirmed ? LOOKUP_AFTER_SECONDS : 0);
  return {
    ...released(row),
    attempted: true,
    unconfirmed,
    error: outcome.error,
    next: nextAttemptAt(now, attempts, wait).toISOString(),
  };
}

/**
 * What to send of the rows: every span of a row sent before is first looked
 * up, until `until`. Rows Langfuse holds whole are settled; a failed lookup
 * makes its row wait, and the rows not looked up are released.
 */
async function lookUpUnconfirmed(
  langfuse: LangfuseSettings,
  rows: TraceRow[],
  now: Date,
  until: number,
  fetchImpl: typeof fetch,
): Promise<{ toSend: TraceRow[]; held: Map<string, Set<string>>; settled: TraceResult[] }> {
  const held = new Map<string, Set<string>>();
  const settled: TraceResult[] = [];
  const toSend: TraceRow[] = [];
  let lookups = true;
  for (const row of rows) {
    if (!row.export_unconfirmed_at) {
      toSend.push(row);
      continue;
    }
    if (!lookups || performance.now() >= until) {
      settled.push(released(row));
      continue;
    }
    const found = await spansInLangfuse(langfuse, row.trace_id, fetchImpl);
    if (found.kind === 'unknown') {
      settled.push(resultOf(row, { kind: 'retry', error: found.error, unconfirmed: true }, now));
      lookups = false;
    } else if (found.kind === 'found' && found.spanIds.size === 2) {
      settled.push(resultOf(row, { kind: 'exported' }, now));
    } else {
      if (found.kind === 'found') held.set(langfuseTraceId(row.trace_id), found.spanIds);
      toSend.push(row);
    }
  }
  return { toSend, held, settled };
}

/** Claims, exports and records one batch of traces not yet in Langfuse. */
export async function exportTraceBatch(
  run: SyncRun,
  langfuse: LangfuseSettings,
  limit: number,
  fetchImpl: typeof fetch = fetch,
): Promise<TraceBatchReport> {
  const { sql, config } = run;
  const now = run.clock.now();
  const rows = await run.db(
    'claim traces',
    () => sql<TraceRow[]>`
      select * from public.claim_langfuse_trace_exports(${run.id}, ${limit}, ${run.leaseSeconds}, ${now})
    `,
  );
  const report: TraceBatchReport = {
    claimed: rows.length,
    exported: 0,
    failed: 0,
    confirmed: 0,
    stop: null,
  };
  if (rows.length === 0) return report;

  // A batch stops starting requests once it has spent one timeout: its lease holds two.
  const sendUntil = performance.now() + langfuse.timeoutMs;
  const { toSend, held, settled } = await lookUpUnconfirmed(
    langfuse,
    rows,
    now,
    sendUntil,
    fetchImpl,
  );
  const results: TraceResult[] = [...settled];
  report.confirmed = settled.filter((r) => r.exported).length;
  const keep = (span: ReadableSpan) =>
    !held.get(span.spanContext().traceId)?.has(span.spanContext().spanId);
  const requests =
    toSend.length > 0
      ? encodeTraceRequests(toSend, config.environment, config.otlpMaxBytes, keep)
      : [];
  for (const request of requests) {
    if (report.stop || performance.now() >= sendUntil) {
      results.push(...request.rows.map(released));
      continue;
    }
    const outcome = await postTraces(langfuse, request.body, request.spans, now, fetchImpl);
    if (outcome.kind === 'refused') {
      report.stop = `trace export refused: ${outcome.error}`;
      results.push(...request.rows.map(released));
      continue;
    }
    results.push(...request.rows.map((row) => resultOf(row, outcome, now)));
    if (outcome.kind === 'rejected') report.failed += request.rows.length;
    // Langfuse is down or slow: this request waits for its next attempt, the rest for the next run.
    if (outcome.kind === 'retry') report.stop = `trace export failed: ${outcome.error}`;
  }
  const accepted = results.filter((r) => r.exported).map((r) => r.trace_id);
  report.exported = accepted.length - report.confirmed;

  await recordResults(run, {
    runId: run.id,
    kind: 'trace exports',
    accepted,
    rows: results.length,
    write: () =>
      run.db(
        'record trace exports',
        () => sql`
          select public.record_langfuse_trace_exports(${run.id}, ${sql.json(results as never)}, ${now})
        `,
      ),
  });
  return report;
}
