/**
 * Exporting traces: each langfuse_traces row becomes one OpenTelemetry trace
 * (otel-spans.ts) and goes to Langfuse's OTLP endpoint
 * (/api/public/otel/v1/traces); Langfuse v4 takes traces only there.
 *
 * Claim, commit, send, record (run.ts): a batch is claimed with a lease in one
 * statement, sent with no transaction open, and its results recorded in
 * another. The spans are encoded by OpenTelemetry's own OTLP/JSON serializer.
 * The POST is ours so that a failure is known per request, the whole answer
 * is bounded by LANGFUSE_TIMEOUT_MS, and a 2xx counts only when its body is an
 * OTLP answer (otlp-answer.ts).
 */
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { LangfuseSettings } from './config.ts';
import { buildSpans, type TraceRow } from './otel-spans.ts';
import { readBody, readOtlpAnswer } from './otlp-answer.ts';
import { nextAttemptAt, parseRetryAfter, refusesTheCaller } from './retry.ts';
import { recordResults, type SyncRun } from './run.ts';

export { buildSpans, type TraceRow } from './otel-spans.ts';

/** Langfuse's answer to an export is a small JSON object; anything much longer is not one. */
const MAX_ANSWER_BYTES = 1_000_000;

/**
 * OTLP/JSON of the rows, split in halves until each request fits `maxBytes`
 * (SYNC_OTLP_MAX_BYTES); a single row always goes, whatever its size.
 */
export function encodeTraceRequests(
  rows: TraceRow[],
  environment: string,
  maxBytes: number,
): { rows: TraceRow[]; spans: number; body: Uint8Array }[] {
  const spans = buildSpans(rows, environment);
  const body = JsonTraceSerializer.serializeRequest(spans);
  if (!body) throw new Error('the OTLP serializer produced nothing');
  if (body.byteLength <= maxBytes || rows.length === 1)
    return [{ rows, spans: spans.length, body }];
  const half = Math.ceil(rows.length / 2);
  return [
    ...encodeTraceRequests(rows.slice(0, half), environment, maxBytes),
    ...encodeTraceRequests(rows.slice(half), environment, maxBytes),
  ];
}

export type ExportOutcome =
  | { kind: 'exported' }
  /** Langfuse refused the spans themselves: sending them again cannot help. */
  | { kind: 'rejected'; error: string }
  /** Refused for keys, permissions or address: the rows are not at fault. */
  | { kind: 'refused'; error: string }
  | { kind: 'retry'; error: string; retryAfterSeconds?: number };

/** One OTLP request, its whole answer within the Langfuse timeout. */
export async function postTraces(
  langfuse: LangfuseSettings,
  body: Uint8Array,
  spans: number,
  now: Date,
  fetchImpl: typeof fetch = fetch,
): Promise<ExportOutcome> {
  const auth = btoa(`${langfuse.publicKey}:${langfuse.secretKey}`);
  const signal = AbortSignal.timeout(langfuse.timeoutMs);
  try {
    const res = await fetchImpl(`${langfuse.baseUrl}/api/public/otel/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
      body: body as Uint8Array<ArrayBuffer>,
      signal,
    });
    const answer = await readBody(res, MAX_ANSWER_BYTES);
    if (res.status < 200 || res.status > 299) {
      const error = `HTTP ${res.status}: ${new TextDecoder().decode(answer.subarray(0, 500))}`;
      if (refusesTheCaller(res.status)) return { kind: 'refused', error };
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
        return { kind: 'rejected', error };
      return {
        kind: 'retry',
        error,
        retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after'), now),
      };
    }
    const read = readOtlpAnswer(res.headers.get('content-type'), answer);
    if (!read.valid) return { kind: 'retry', error: `HTTP ${res.status} with ${read.error}` };
    if (read.rejectedSpans > 0) {
      return {
        kind: 'rejected',
        error: `Langfuse rejected ${read.rejectedSpans} of ${spans} spans: ${read.errorMessage ?? 'no reason given'}`,
      };
    }
    return { kind: 'exported' };
  } catch (error) {
    if (signal.aborted)
      return { kind: 'retry', error: `no complete answer within ${langfuse.timeoutMs} ms` };
    return { kind: 'retry', error: error instanceof Error ? error.message : String(error) };
  }
}

export interface TraceBatchReport {
  claimed: number;
  exported: number;
  /** Refused by Langfuse for their content: export_failed_at set, never sent again. */
  failed: number;
  stop: string | null;
}

interface TraceResult {
  trace_id: string;
  attempted: boolean;
  exported: boolean;
  failed: boolean;
  error: string | null;
  next: string | null;
}

const released = (row: TraceRow): TraceResult => ({
  trace_id: row.trace_id,
  attempted: false,
  exported: false,
  failed: false,
  error: null,
  next: null,
});

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
  if (rows.length === 0) return { claimed: 0, exported: 0, failed: 0, stop: null };

  const results: TraceResult[] = [];
  const accepted: string[] = [];
  let failed = 0;
  let stop: string | null = null;
  // A batch stops starting requests once it has spent one timeout: its lease holds two.
  const sendUntil = performance.now() + langfuse.timeoutMs;
  const requests = encodeTraceRequests(rows, config.environment, config.otlpMaxBytes);
  for (const [i, request] of requests.entries()) {
    if (stop || (i > 0 && performance.now() >= sendUntil)) {
      results.push(...request.rows.map(released));
      continue;
    }
    const outcome = await postTraces(langfuse, request.body, request.spans, now, fetchImpl);
    if (outcome.kind === 'refused') {
      stop = `trace export refused: ${outcome.error}`;
      results.push(...request.rows.map(released));
      continue;
    }
    for (const row of request.rows) {
      const attempts = row.export_attempts + 1;
      const retryAfter = outcome.kind === 'retry' ? outcome.retryAfterSeconds : undefined;
      results.push({
        trace_id: row.trace_id,
        attempted: true,
        exported: outcome.kind === 'exported',
        failed: outcome.kind === 'rejected',
        error: outcome.kind === 'exported' ? null : outcome.error,
        next:
          outcome.kind === 'retry' ? nextAttemptAt(now, attempts, retryAfter).toISOString() : null,
      });
    }
    if (outcome.kind === 'exported') accepted.push(...request.rows.map((row) => row.trace_id));
    if (outcome.kind === 'rejected') failed += request.rows.length;
    // Langfuse is down or slow: this request waits for its next attempt, the rest for the next run.
    if (outcome.kind === 'retry') stop = `trace export failed: ${outcome.error}`;
  }

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
  return { claimed: rows.length, exported: accepted.length, failed, stop };
}
