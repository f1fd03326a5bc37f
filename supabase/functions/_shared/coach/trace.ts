/**
 * The record of one LLM call: a langfuse_traces row with what was asked, what
 * came back and the numbers (seed 000's rules: every call, failures included,
 * with its duration and error). A successful call's trace is stored with its
 * reply (store-reply.ts, through traceInsert); every other trace goes to the
 * TraceWriter (trace-writer.ts), which writes it off the response path and
 * retries, so a slow or failing write never delays or fails the user's call.
 */
import type { Sql } from 'postgres';
import { type BudgetReservation, settlementCte } from '../budget/reservation.ts';
import type { LlmProviderName } from '../config.ts';
import { q, type Statement } from '../db/statement.ts';
import { costUsd, estimateTokens } from '../llm/prices.ts';
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
 * The INSERT of one trace row, as a fragment to run alone or beside the
 * reply's insert. `entityId` is SQL: a bound value, or `(select id from
 * stored)` when the reply is stored by the same statement. The values are
 * cast because an INSERT ... SELECT does not type its parameters by column.
 */
export function traceInsert(trace: TraceRecord, entityId: Statement): Statement {
  const metrics = metricColumns(trace.metadata);
  return q`
    insert into public.langfuse_traces (
      trace_id, entity_type, entity_id, user_id, input, output, metadata, tags,
      provider, model, status, error, latency_ms, input_tokens, output_tokens, total_tokens,
      cost_usd, usage_source, stream_status
    )
    select
      ${trace.traceId}::uuid, ${trace.entityType}::text, ${entityId}, ${trace.userId}::uuid,
      ${trace.input}::text, ${trace.output}::text, ${q.json(trace.metadata)}::jsonb,
      ${trace.tags}::text[], ${metrics.provider}::text, ${metrics.model}::text,
      ${metrics.status}::text, ${metrics.error}::text, ${metrics.latency_ms}::integer,
      ${metrics.input_tokens}::integer, ${metrics.output_tokens}::integer,
      ${metrics.total_tokens}::integer, ${metrics.cost_usd}::numeric,
      ${metrics.usage_source}::text, ${metrics.stream_status}::text
  `;
}

/**
 * The trace's budget settlement: `cte` (`, settle as (...)`) for the WITH
 * list, `join` (`cross join settle`) for the final SELECT, which must read it;
 * both empty when the call holds no reservation.
 */
export function settlement(trace: TraceRecord): { cte: Statement; join: Statement } {
  if (!trace.settlement) return { cte: q.empty, join: q.empty };
  return {
    cte: q`, ${settlementCte(trace.settlement.reservation, trace.settlement.used)}`,
    join: q`cross join settle`,
  };
}

/**
 * The statement that inserts the trace, settles its budget and links the
 * produced row to it: all or nothing.
 */
export function insertTrace(trace: TraceRecord, link: TraceLink | null): Statement {
  const insert = traceInsert(trace, q`${trace.entityId}::uuid`);
  const settle = settlement(trace);
  const linked = link
    ? q`, linked as (
        update public.${q.id(link.table)} set langfuse_trace_id = (select trace_id from trace)
        where id = ${trace.entityId}::uuid
      )`
    : q.empty;
  return q`
    with trace as (${insert} returning trace_id) ${settle.cte} ${linked}
    select 1 from trace ${settle.join}
  `;
}

/** Whether the trace row exists: an attempt whose answer was lost may have stored it. */
export function traceExists(sql: Sql, traceId: string) {
  return sql<{ stored: boolean }[]>`
    select exists (select 1 from public.langfuse_traces where trace_id = ${traceId}) as stored
  `;
}
