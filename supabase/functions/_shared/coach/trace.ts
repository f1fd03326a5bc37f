/**
 * The record of one LLM call: a langfuse_traces row with what was asked, what
 * came back and the numbers (seed 000's rules: every call, failures included,
 * with its duration and error). A successful call's trace is stored with its
 * reply (store-reply.ts, as the kind's store function's coach_trace argument);
 * every other trace goes to the
 * TraceWriter (trace-writer.ts), which writes it off the response path and
 * retries, so a slow or failing write never delays or fails the user's call.
 */
import type { Sql } from 'postgres';
import { type BudgetReservation, settlementArgument } from '../budget/reservation.ts';
import type { LlmProviderName } from '../config.ts';
import { q, type Statement } from '../db/statement.ts';
import { costUsd } from '../llm/prices.ts';
import { estimateTokens } from '../llm/tokens.ts';
import type { LlmFailureKind, LlmUsage } from '../llm/types.ts';
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
  /** Langfuse's sessionId: the conversation of an ai-coach turn; null for the other kinds. */
  session_id: string | null;
  /** APP_RELEASE at the time of the call. */
  release: string | null;
  /** The system prompt's version (PROMPT_VERSIONS), Langfuse's trace version. */
  prompt_version: string;
  /** What the model was asked to respect, as sent (Langfuse's modelParameters). */
  model_parameters: Record<string, number>;
}

export interface TraceRecord {
  traceId: string;
  /** The budget reservation to settle with this trace, and what the call used. */
  settlement?: {
    reservation: BudgetReservation;
    used: { tokens: number; cost: number };
  } | null;
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

/**
 * The trace as the store functions take it (migration 20251130000005): a
 * public.coach_trace value, or a null one when the reply is stored alone.
 */
export function traceArgument(trace: TraceRecord | null): Statement {
  if (!trace) return q`null::public.coach_trace`;
  const metrics = metricColumns(trace.metadata);
  return q`row(
    ${trace.traceId}::uuid, ${trace.entityType}::text, ${trace.userId}::uuid,
    ${trace.input}::text, ${trace.output}::text, ${q.json(trace.metadata)}::jsonb,
    ${trace.tags}::text[], ${metrics.provider}::text, ${metrics.model}::text,
    ${metrics.status}::text, ${metrics.error}::text, ${metrics.latency_ms}::integer,
    ${metrics.input_tokens}::integer, ${metrics.output_tokens}::integer,
    ${metrics.total_tokens}::integer, ${metrics.cost_usd}::numeric,
    ${metrics.usage_source}::text, ${metrics.stream_status}::text
  )::public.coach_trace`;
}

/** The trace's budget settlement, as the store functions take it: null when it holds no reservation. */
export function traceSettlement(trace: TraceRecord | null): Statement {
  return trace?.settlement
    ? settlementArgument(trace.settlement.reservation, trace.settlement.used)
    : q`null::public.budget_settlement`;
}

/**
 * The statement that inserts the trace, settles its budget and links the
 * produced row to it: all or nothing.
 */
export function insertTrace(trace: TraceRecord, link: TraceLink | null): Statement {
  const linked = link
    ? q`, linked as (
        update public.${q.id(link.table)} set langfuse_trace_id = (select trace_id from trace)
        where id = ${trace.entityId}::uuid
      )`
    : q.empty;
  return q`
    with trace as (
      select public.record_coach_trace(
        ${traceArgument(trace)}, ${trace.entityId}::uuid, ${traceSettlement(trace)}
      ) as trace_id
    ) ${linked}
    select 1 from trace
  `;
}

/** Whether the trace row exists: an attempt whose answer was lost may have stored it. */
export function traceExists(sql: Sql, traceId: string) {
  return sql<{ stored: boolean }[]>`
    select exists (select 1 from public.langfuse_traces where trace_id = ${traceId}) as stored
  `;
}
