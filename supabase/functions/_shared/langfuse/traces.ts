/**
 * Exporting traces: each langfuse_traces row becomes one OpenTelemetry trace
 * (otel-spans.ts) and goes to Langfuse's OTLP endpoint
 * (/api/public/otel/v1/traces); Langfuse v4 takes traces only there.
 *
 * The spans are encoded by OpenTelemetry's own OTLP/JSON serializer. The POST
 * is ours so that a failure is known per batch and retried on our schedule.
 */
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { Sql } from 'postgres';
import type { SyncConfig } from './config.ts';
import { buildSpans, type TraceRow } from './otel-spans.ts';
import { nextAttemptAt, type Outcome, outcomeForStatus, parseRetryAfter } from './retry.ts';

export { buildSpans, type TraceRow } from './otel-spans.ts';

/**
 * OTLP/JSON of the rows, split in halves until each request fits `maxBytes`
 * (SYNC_OTLP_MAX_BYTES); a single row always goes, whatever its size.
 */
export function encodeTraceRequests(
  rows: TraceRow[],
  environment: string,
  maxBytes: number,
): { rows: TraceRow[]; body: Uint8Array }[] {
  const body = JsonTraceSerializer.serializeRequest(buildSpans(rows, environment));
  if (!body) throw new Error('the OTLP serializer produced nothing');
  if (body.byteLength <= maxBytes || rows.length === 1) return [{ rows, body }];
  const half = Math.ceil(rows.length / 2);
  return [
    ...encodeTraceRequests(rows.slice(0, half), environment, maxBytes),
    ...encodeTraceRequests(rows.slice(half), environment, maxBytes),
  ];
}

async function post(
  config: SyncConfig,
  body: Uint8Array,
  now: Date,
  fetchImpl: typeof fetch,
): Promise<Outcome> {
  const auth = btoa(`${config.langfuse.publicKey}:${config.langfuse.secretKey}`);
  try {
    const res = await fetchImpl(`${config.langfuse.baseUrl}/api/public/otel/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
      body: body as Uint8Array<ArrayBuffer>,
      signal: AbortSignal.timeout(config.langfuse.timeoutMs),
    });
    const message = res.ok ? '' : `HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`;
    if (res.ok) await res.body?.cancel();
    return outcomeForStatus(
      res.status,
      message,
      parseRetryAfter(res.headers.get('retry-after'), now),
    );
  } catch (error) {
    return { kind: 'retry', error: error instanceof Error ? error.message : String(error) };
  }
}

export interface TraceBatchReport {
  claimed: number;
  exported: number;
  stop: string | null;
}

/** Claims, exports and settles one batch of traces not yet in Langfuse. */
export async function exportTraceBatch(
  sql: Sql,
  config: SyncConfig,
  now: Date,
  limit: number,
  fetchImpl: typeof fetch = fetch,
): Promise<TraceBatchReport> {
  return sql.begin(async (tx) => {
    // Rows written before traces carried their session get it from the stored turn.
    const rows = await tx<TraceRow[]>`
      select t.trace_id, t.entity_type, t.entity_id, t.user_id, t.input, t.output, t.metadata,
        t.tags, t.created_at, t.export_attempts,
        coalesce(t.metadata->>'session_id', m.conversation_id::text) as session_id
      from public.langfuse_traces t
      left join public.ai_coach_messages m
        on t.entity_type = 'ai_coach_message' and m.id = t.entity_id
      where t.exported_at is null
        and (t.export_next_attempt_at is null or t.export_next_attempt_at <= ${now})
      order by t.export_next_attempt_at nulls first, t.created_at
      limit ${limit}
      for update of t skip locked
    `;
    if (rows.length === 0) return { claimed: 0, exported: 0, stop: null };
    let exported = 0;
    for (const request of encodeTraceRequests(rows, config.environment, config.otlpMaxBytes)) {
      const ids = request.rows.map((row) => row.trace_id);
      const outcome = await post(config, request.body, now, fetchImpl);
      if (outcome.kind === 'delivered') {
        await tx`
          update public.langfuse_traces set exported_at = ${now}, export_attempts = export_attempts + 1,
            export_next_attempt_at = null, export_error = null
          where trace_id = any(${ids}::uuid[])
        `;
        exported += ids.length;
        continue;
      }
      // This request failed: it and the rest of the batch wait for the next attempt.
      const waiting = rows.slice(exported);
      const attempts = Math.max(...waiting.map((row) => row.export_attempts)) + 1;
      await tx`
        update public.langfuse_traces set export_attempts = export_attempts + 1,
          export_next_attempt_at = ${nextAttemptAt(now, attempts, outcome.kind === 'retry' ? outcome.retryAfterSeconds : undefined)},
          export_error = ${outcome.error}
        where trace_id = any(${waiting.map((row) => row.trace_id)}::uuid[])
      `;
      return { claimed: rows.length, exported, stop: `trace export failed: ${outcome.error}` };
    }
    return { claimed: rows.length, exported, stop: null };
  });
}
