/**
 * Exporting traces: each langfuse_traces row becomes one OpenTelemetry trace
 * (a root span for the coach call and a generation span for the LLM call)
 * with the Langfuse attributes, and goes to Langfuse's OTLP endpoint
 * (/api/public/otel/v1/traces); Langfuse v4 takes traces only there.
 *
 * The spans are built by the OpenTelemetry SDK with the trace id set to our
 * trace_id, and encoded by OpenTelemetry's own OTLP/JSON serializer. The POST
 * is ours so that a failure is known per batch and retried on our schedule.
 */

import { LangfuseOtelSpanAttributes as Attr } from '@langfuse/core';
import { context, trace as otelTrace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  RandomIdGenerator,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Sql } from 'postgres';
import type { TraceMetadata } from '../coach/trace.ts';
import type { SyncConfig } from './config.ts';
import { nextAttemptAt, outcomeForStatus, parseRetryAfter } from './retry.ts';

export interface TraceRow {
  trace_id: string;
  entity_type: string;
  entity_id: string;
  user_id: string;
  input: string;
  output: string;
  metadata: Partial<TraceMetadata> | null;
  tags: string[] | null;
  created_at: Date;
  export_attempts: number;
}

const hexTraceId = (uuid: string) => uuid.replaceAll('-', '').toLowerCase();

/** The OpenTelemetry spans of a batch of trace rows. */
export function buildSpans(rows: TraceRow[], environment: string): ReadableSpan[] {
  const random = new RandomIdGenerator();
  let nextTraceId = '';
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'ai-coach-functions' }),
    idGenerator: {
      generateTraceId: () => nextTraceId,
      generateSpanId: () => random.generateSpanId(),
    },
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('ai-coach-langfuse-sync');
  for (const row of rows) {
    nextTraceId = hexTraceId(row.trace_id);
    const meta = row.metadata ?? {};
    const end = row.created_at.getTime();
    const start = end - Math.max(0, Number(meta.latency_ms ?? 0));
    const name = row.tags?.[0] ?? row.entity_type;
    const root = tracer.startSpan(
      name,
      {
        kind: SpanKind.SERVER,
        startTime: start,
        attributes: {
          [Attr.TRACE_NAME]: name,
          [Attr.TRACE_USER_ID]: row.user_id,
          [Attr.TRACE_TAGS]: row.tags ?? [],
          [Attr.TRACE_INPUT]: row.input,
          [Attr.TRACE_OUTPUT]: row.output,
          [`${Attr.TRACE_METADATA}.entity_type`]: row.entity_type,
          [`${Attr.TRACE_METADATA}.entity_id`]: row.entity_id,
          [Attr.ENVIRONMENT]: meta.environment ?? environment,
        },
      },
      context.active(),
    );
    const usage =
      meta.input_tokens == null
        ? undefined
        : JSON.stringify({
            input: meta.input_tokens,
            output: meta.output_tokens ?? 0,
            total: meta.total_tokens ?? 0,
          });
    const failed = meta.status === 'error';
    const generation = tracer.startSpan(
      'llm',
      {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          [Attr.OBSERVATION_TYPE]: 'generation',
          [Attr.OBSERVATION_MODEL]: meta.model ?? 'unknown',
          [Attr.OBSERVATION_INPUT]: row.input,
          [Attr.OBSERVATION_OUTPUT]: row.output,
          [`${Attr.OBSERVATION_METADATA}.provider`]: meta.provider ?? 'unknown',
          [`${Attr.OBSERVATION_METADATA}.usage_source`]: meta.usage_source ?? 'missing',
          ...(meta.stream_status
            ? { [`${Attr.OBSERVATION_METADATA}.stream_status`]: meta.stream_status }
            : {}),
          ...(usage ? { [Attr.OBSERVATION_USAGE_DETAILS]: usage } : {}),
          ...(meta.cost_usd == null
            ? {}
            : { [Attr.OBSERVATION_COST_DETAILS]: JSON.stringify({ total: meta.cost_usd }) }),
          ...(meta.time_to_first_token_ms == null
            ? {}
            : {
                [Attr.OBSERVATION_COMPLETION_START_TIME]: new Date(
                  start + meta.time_to_first_token_ms,
                ).toISOString(),
              }),
          ...(failed
            ? {
                [Attr.OBSERVATION_LEVEL]: 'ERROR',
                [Attr.OBSERVATION_STATUS_MESSAGE]: meta.error?.message ?? 'error',
              }
            : {}),
        },
      },
      otelTrace.setSpan(context.active(), root),
    );
    if (failed) generation.setStatus({ code: SpanStatusCode.ERROR, message: meta.error?.message });
    generation.end(end);
    root.end(end);
  }
  return memory.getFinishedSpans();
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
    const rows = await tx<TraceRow[]>`
      select trace_id, entity_type, entity_id, user_id, input, output, metadata, tags, created_at, export_attempts
      from public.langfuse_traces
      where exported_at is null and (export_next_attempt_at is null or export_next_attempt_at <= ${now})
      order by export_next_attempt_at nulls first, created_at
      limit ${limit}
      for update skip locked
    `;
    if (rows.length === 0) return { claimed: 0, exported: 0, stop: null };
    const encoded = JsonTraceSerializer.serializeRequest(buildSpans(rows, config.environment));
    if (!encoded) throw new Error('the OTLP serializer produced nothing');
    const body = new TextDecoder().decode(encoded);
    const auth = btoa(`${config.langfuse.publicKey}:${config.langfuse.secretKey}`);
    let status: number;
    let message: string;
    let retryAfter: number | undefined;
    try {
      const res = await fetchImpl(`${config.langfuse.baseUrl}/api/public/otel/v1/traces`, {
        method: 'POST',
        headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(config.langfuse.timeoutMs),
      });
      status = res.status;
      message = res.ok ? '' : `HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`;
      retryAfter = parseRetryAfter(res.headers.get('retry-after'), now);
      if (res.ok) await res.body?.cancel();
    } catch (error) {
      status = 0;
      message = error instanceof Error ? error.message : String(error);
    }
    const ids = rows.map((row) => row.trace_id);
    const outcome =
      status === 0
        ? { kind: 'retry' as const, error: message }
        : outcomeForStatus(status, message, retryAfter);
    if (outcome.kind === 'delivered') {
      await tx`
        update public.langfuse_traces set exported_at = ${now}, export_attempts = export_attempts + 1,
          export_next_attempt_at = null, export_error = null
        where trace_id = any(${ids}::uuid[])
      `;
      return { claimed: rows.length, exported: rows.length, stop: null };
    }
    const attempts = Math.max(...rows.map((row) => row.export_attempts)) + 1;
    await tx`
      update public.langfuse_traces set export_attempts = export_attempts + 1,
        export_next_attempt_at = ${nextAttemptAt(now, attempts, outcome.kind === 'retry' ? outcome.retryAfterSeconds : undefined)},
        export_error = ${outcome.error}
      where trace_id = any(${ids}::uuid[])
    `;
    return { claimed: rows.length, exported: 0, stop: `trace export failed: ${outcome.error}` };
  });
}
