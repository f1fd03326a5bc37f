/**
 * A trace row as OpenTelemetry spans, with the attributes Langfuse reads
 * (names from @langfuse/core's LangfuseOtelSpanAttributes; where Langfuse
 * reads each one is in docs/langfuse-mapping.md), in the form Langfuse v4
 * asks of an OTel integration (langfuse-docs, "Migrate custom ingestion to
 * Langfuse v4"):
 *
 *   root span "<endpoint>"  -> the root observation: the call's overall input
 *                              and output
 *   child span "llm"        -> a generation: model, model parameters, usage
 *                              and cost details, completion start, level and
 *                              status message when the call failed
 *
 * v4 reads each span on its own, so the trace-wide attributes (trace name,
 * user, session, tags, trace metadata, release, version, environment) are on
 * both spans. The root also keeps langfuse.trace.input/output for v3 servers
 * and trace-level evaluators.
 *
 * The spans are built by the OpenTelemetry SDK with the trace id set to the
 * row's Langfuse trace id (trace-id.ts), and span ids derived from it: the
 * root takes the first 8 bytes, the generation the last 8. v4 keeps every
 * copy of a span id, so an export whose answer was lost is looked up by these
 * ids before anything is sent again (traces.ts). The tracer is named as
 * Langfuse's SDK names its own (LANGFUSE_TRACER_NAME): the attributes follow
 * its conventions, and Langfuse then does not copy every span attribute into
 * the metadata a second time.
 */
import { LangfuseOtelSpanAttributes as Attr, LANGFUSE_TRACER_NAME } from '@langfuse/core';
import {
  type Attributes,
  context,
  trace as otelTrace,
  SpanKind,
  SpanStatusCode,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { TraceMetadata } from '../coach/trace.ts';
import { langfuseTraceId } from './trace-id.ts';

export interface TraceRow {
  trace_id: string;
  entity_type: string;
  entity_id: string;
  user_id: string;
  input: string;
  output: string;
  metadata: Partial<TraceMetadata> | null;
  tags: string[] | null;
  /** The conversation: the metadata's session_id, or for older rows the stored turn's conversation. */
  session_id: string | null;
  created_at: Date;
  export_attempts: number;
  /** Set when an earlier export went unanswered: look in Langfuse before sending again. */
  export_unconfirmed_at?: Date | null;
}

export const SERVICE_NAME = 'ai-coach-functions';

/** `langfuse.trace.metadata.<key>` / `langfuse.observation.metadata.<key>` for each set value. */
function metadataAttributes(prefix: string, values: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined) continue;
    out[`${prefix}.${key}`] =
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? value
        : JSON.stringify(value);
  }
  return out;
}

/** Attributes whose value is known; OpenTelemetry drops undefined ones anyway, this keeps intent plain. */
function defined(values: Record<string, Attributes[string] | null | undefined>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(values)) if (value != null) out[key] = value;
  return out;
}

function generationAttributes(row: TraceRow, meta: Partial<TraceMetadata>, start: number) {
  const failed = meta.status === 'error';
  return defined({
    [Attr.OBSERVATION_TYPE]: 'generation',
    [Attr.OBSERVATION_MODEL]: meta.model ?? 'unknown',
    [Attr.OBSERVATION_MODEL_PARAMETERS]: meta.model_parameters
      ? JSON.stringify(meta.model_parameters)
      : null,
    [Attr.OBSERVATION_INPUT]: row.input,
    [Attr.OBSERVATION_OUTPUT]: row.output,
    [Attr.OBSERVATION_USAGE_DETAILS]:
      meta.input_tokens == null
        ? null
        : JSON.stringify({
            input: meta.input_tokens,
            output: meta.output_tokens ?? 0,
            total: meta.total_tokens ?? meta.input_tokens + (meta.output_tokens ?? 0),
          }),
    [Attr.OBSERVATION_COST_DETAILS]:
      meta.cost_usd == null ? null : JSON.stringify({ total: Number(meta.cost_usd) }),
    [Attr.OBSERVATION_COMPLETION_START_TIME]:
      meta.time_to_first_token_ms == null
        ? null
        : new Date(start + meta.time_to_first_token_ms).toISOString(),
    [Attr.OBSERVATION_LEVEL]: failed ? 'ERROR' : null,
    [Attr.OBSERVATION_STATUS_MESSAGE]: failed ? (meta.error?.message ?? 'error') : null,
    ...metadataAttributes(Attr.OBSERVATION_METADATA, {
      provider: meta.provider,
      usage_source: meta.usage_source,
      stream: meta.stream,
      stream_status: meta.stream_status,
      error_kind: meta.error?.kind,
      upstream_status: meta.error?.status,
    }),
  });
}

/** What the whole trace shares, set on every span: v4 reads each span on its own. */
function traceAttributes(row: TraceRow, meta: Partial<TraceMetadata>, name: string): Attributes {
  return defined({
    [Attr.TRACE_NAME]: name,
    [Attr.TRACE_USER_ID]: row.user_id,
    [Attr.TRACE_SESSION_ID]: row.session_id,
    [Attr.TRACE_TAGS]: row.tags ?? [],
    [Attr.ENVIRONMENT]: meta.environment,
    [Attr.RELEASE]: meta.release,
    [Attr.VERSION]: meta.prompt_version,
    ...metadataAttributes(Attr.TRACE_METADATA, {
      trace_id: row.trace_id,
      entity_type: row.entity_type,
      entity_id: row.entity_id,
      status: meta.status,
    }),
  });
}

/** The span ids of a trace row's spans (root, generation), as Langfuse reads them: 16 hex each. */
export function spanIdsOf(traceId: string): { root: string; generation: string } {
  const hex = langfuseTraceId(traceId);
  return { root: hex.slice(0, 16), generation: hex.slice(16) };
}

/** The OpenTelemetry spans of a batch of trace rows. */
export function buildSpans(rows: TraceRow[], environment: string): ReadableSpan[] {
  let nextTraceId = '';
  const nextSpanIds: string[] = [];
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME }),
    idGenerator: {
      generateTraceId: () => nextTraceId,
      generateSpanId: () => nextSpanIds.shift() ?? '',
    },
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer(LANGFUSE_TRACER_NAME);
  for (const row of rows) {
    nextTraceId = langfuseTraceId(row.trace_id);
    const ids = spanIdsOf(row.trace_id);
    nextSpanIds.push(ids.root, ids.generation);
    const meta = { ...row.metadata, environment: row.metadata?.environment ?? environment };
    const end = row.created_at.getTime();
    const start = end - Math.max(0, Number(meta.latency_ms ?? 0));
    const name = row.tags?.[0] ?? row.entity_type;
    const failed = meta.status === 'error';
    const root = tracer.startSpan(
      name,
      {
        kind: SpanKind.SERVER,
        startTime: start,
        attributes: {
          ...traceAttributes(row, meta, name),
          [Attr.OBSERVATION_INPUT]: row.input,
          [Attr.OBSERVATION_OUTPUT]: row.output,
          // v3 servers and trace-level evaluators read these.
          [Attr.TRACE_INPUT]: row.input,
          [Attr.TRACE_OUTPUT]: row.output,
        },
      },
      context.active(),
    );
    const generation = tracer.startSpan(
      'llm',
      {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          ...traceAttributes(row, meta, name),
          ...generationAttributes(row, meta, start),
        },
      },
      otelTrace.setSpan(context.active(), root),
    );
    if (failed) {
      generation.setStatus({ code: SpanStatusCode.ERROR, message: meta.error?.message });
      root.setStatus({ code: SpanStatusCode.ERROR, message: meta.error?.message });
    }
    generation.end(end);
    root.end(end);
  }
  return memory.getFinishedSpans();
}
