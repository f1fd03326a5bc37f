/**
 * The record of one LLM call: a langfuse_traces row with what was asked, what
 * came back and the numbers (seed 000's rules: every call, failures included,
 * with its duration and error). Written off the response path and retried, so
 * a slow or failing write never delays or fails the user's call.
 */
import type { Sql } from 'postgres';
import type { LlmProviderName } from '../config.ts';
import { describeError } from '../http/errors.ts';
import { costUsd, estimateTokens } from '../llm/prices.ts';
import type { LlmFailureKind, LlmUsage } from '../llm/types.ts';
import { noRedaction, type Redactor } from '../pii.ts';
import type { EntityType } from './entity-types.ts';

export type UsageSource = 'provider' | 'estimated' | 'missing';
export type StreamStatus = 'completed' | 'aborted' | null;

/** langfuse_traces.metadata: the call's numbers, in snake_case like the columns to come. */
export interface TraceMetadata {
  provider: LlmProviderName;
  model: string;
  status: 'success' | 'error';
  latency_ms: number;
  time_to_first_token_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  cost_usd: number | null;
  usage_source: UsageSource;
  stream: boolean;
  stream_status: StreamStatus;
  error: { kind: LlmFailureKind | 'internal'; status: number | null; message: string } | null;
  environment: string;
}

export interface TraceRecord {
  traceId: string;
  entityType: EntityType;
  entityId: string;
  userId: string;
  input: string;
  output: string;
  tags: string[];
  metadata: TraceMetadata;
}

/** Where the produced row links back to its trace, when its table has langfuse_trace_id. */
export interface TraceLink {
  table: 'ai_coach_messages' | 'encouragement_messages' | 'reflections';
}

/** Usage as reported, or estimated from the text when the provider sent none. */
export function resolveUsage(
  reported: LlmUsage | null,
  prompt: string,
  output: string,
): { usage: LlmUsage; source: UsageSource } {
  if (reported) return { usage: reported, source: 'provider' };
  return {
    usage: { inputTokens: estimateTokens(prompt), outputTokens: estimateTokens(output) },
    source: 'estimated',
  };
}

export function usageMetadata(
  model: string,
  usage: LlmUsage | null,
  source: UsageSource,
): Pick<
  TraceMetadata,
  'input_tokens' | 'output_tokens' | 'total_tokens' | 'cost_usd' | 'usage_source'
> {
  return {
    input_tokens: usage?.inputTokens ?? null,
    output_tokens: usage?.outputTokens ?? null,
    total_tokens: usage ? usage.inputTokens + usage.outputTokens : null,
    cost_usd: costUsd(model, usage),
    usage_source: source,
  };
}

/** The typed columns the usage views read: the metadata's numbers. */
export function metricColumns(metadata: TraceMetadata) {
  return {
    provider: metadata.provider,
    model: metadata.model,
    status: metadata.status,
    error: metadata.error ? `${metadata.error.kind}: ${metadata.error.message}` : null,
    latency_ms: metadata.latency_ms,
    input_tokens: metadata.input_tokens,
    output_tokens: metadata.output_tokens,
    total_tokens: metadata.total_tokens,
    cost_usd: metadata.cost_usd,
    usage_source: metadata.usage_source,
    stream_status: metadata.stream_status,
  };
}

/** Inserts the trace and, in the same statement, links the produced row to it. */
export async function insertTrace(
  sql: Sql,
  trace: TraceRecord,
  link: TraceLink | null,
): Promise<void> {
  const row = {
    trace_id: trace.traceId,
    entity_type: trace.entityType,
    entity_id: trace.entityId,
    user_id: trace.userId,
    input: trace.input,
    output: trace.output,
    metadata: sql.json(trace.metadata as never),
    tags: trace.tags,
    ...metricColumns(trace.metadata),
  };
  if (!link) {
    await sql`insert into public.langfuse_traces ${sql(row)}`;
    return;
  }
  await sql`
    with trace as (
      insert into public.langfuse_traces ${sql(row)} returning trace_id
    )
    update ${sql('public')}.${sql(link.table)} set langfuse_trace_id = (select trace_id from trace)
    where id = ${trace.entityId}
  `;
}

export interface TraceWriter {
  /** Schedules the write; never throws, never delays the caller. */
  record(trace: TraceRecord, link: TraceLink | null): void;
}

const RETRY_DELAYS_MS = [50, 250, 1000];

export function createTraceWriter(
  sql: Sql,
  waitUntil: (work: Promise<unknown>) => void,
  log: (entry: Record<string, unknown>) => void,
  redactor: Redactor = noRedaction,
): TraceWriter {
  async function write(trace: TraceRecord, link: TraceLink | null): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await insertTrace(sql, trace, link);
        return;
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          log({
            level: 'error',
            msg: 'trace not recorded',
            traceId: trace.traceId,
            error: describeError(error),
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
  return {
    record(trace, link) {
      // Starts on the next macrotask, so the answer is written to the client
      // before this write's own work (building the row, the socket write).
      waitUntil(
        new Promise((resolve) => setTimeout(resolve, 0)).then(() =>
          write(
            {
              ...trace,
              input: redactor.redact(trace.input),
              output: redactor.redact(trace.output),
            },
            link,
          ),
        ),
      );
    },
  };
}
