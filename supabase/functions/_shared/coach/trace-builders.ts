/** Turns one LLM call and its outcome into the trace row that records it. */
import type { BudgetReservation } from '../budget/reservation.ts';
import type { LlmProviderName } from '../config.ts';
import { storable } from '../http/validation.ts';
import { costUsd } from '../llm/prices.ts';
import type { LlmError, LlmRequest, LlmResult, LlmUsage } from '../llm/types.ts';
import type { CoachKind } from './kind.ts';
import { PROMPT_VERSIONS } from './prompts.ts';
import {
  resolveUsage,
  type StreamStatus,
  type TraceMetadata,
  type TraceRecord,
  usageMetadata,
} from './trace.ts';

/** Everything known about a call before it is made. */
export interface CallRecord<Body extends { stream?: boolean | undefined }> {
  kind: CoachKind<Body>;
  userId: string;
  body: Body;
  request: LlmRequest;
  provider: LlmProviderName;
  environment: string;
  /** APP_RELEASE, when set. */
  release: string | null;
  /** The conversation (ai-coach), for Langfuse's sessionId. */
  sessionId: string | null;
  traceId: string;
  /** Reserved for the produced row; a failed call's trace points at the row that was never made. */
  entityId: string;
  receivedAt: Date;
  /** performance.now() when the pipeline started the call. */
  startedAt: number;
  stream: boolean;
  /** The budget held for the call; its trace settles it. Null without budgets. */
  reservation: BudgetReservation | null;
}

/** The prompt as sent, system message first: the trace's input. */
export function promptText(request: LlmRequest): string {
  return JSON.stringify([{ role: 'system', content: request.system }, ...request.messages]);
}

function baseRecord(
  call: CallRecord<{ stream?: boolean | undefined }>,
  output: string,
  metadata: TraceMetadata,
  input = promptText(call.request),
): TraceRecord {
  return {
    traceId: call.traceId,
    entityType: call.kind.entityType,
    entityId: call.entityId,
    userId: call.userId,
    input,
    // An LLM may answer NUL, which Postgres text cannot hold.
    output: storable(output),
    tags: [call.kind.endpoint, call.provider, ...(call.stream ? ['stream'] : [])],
    metadata,
    settlement: call.reservation && {
      reservation: call.reservation,
      used: usedBudget(call, metadata),
    },
  };
}

/**
 * What the call cost the user's budget: its tokens and its price. A model
 * the price table lacks is charged the price of the model asked for; only a
 * reservation made for an unpriced model (plan: tokens only) charges no USD.
 */
function usedBudget(call: CallRecord<{ stream?: boolean | undefined }>, metadata: TraceMetadata) {
  const tokens = metadata.total_tokens ?? 0;
  const usage =
    metadata.input_tokens == null
      ? null
      : { inputTokens: metadata.input_tokens, outputTokens: metadata.output_tokens ?? 0 };
  const cost = call.reservation?.unpriced
    ? (metadata.cost_usd ?? 0)
    : (metadata.cost_usd ?? costUsd(call.request.model, usage) ?? 0);
  return { tokens, cost };
}

/** What every trace of the call carries, whatever its outcome. */
function callContext(call: CallRecord<{ stream?: boolean | undefined }>) {
  return {
    session_id: call.sessionId,
    release: call.release,
    prompt_version: PROMPT_VERSIONS[call.kind.entityType],
    model_parameters: { max_tokens: call.request.maxOutputTokens },
    stream: call.stream,
    environment: call.environment,
  };
}

function timing(call: CallRecord<{ stream?: boolean | undefined }>, firstTokenAt: number | null) {
  return {
    latency_ms: Math.round(performance.now() - call.startedAt),
    time_to_first_token_ms:
      firstTokenAt === null ? null : Math.round(firstTokenAt - call.startedAt),
  };
}

export function successTrace(
  call: CallRecord<{ stream?: boolean | undefined }>,
  result: LlmResult,
  streamStatus: Exclude<StreamStatus, null>,
  firstTokenAt: number | null = null,
): { record: TraceRecord; usage: LlmUsage } {
  const input = promptText(call.request);
  const { usage, source } = resolveUsage(result.usage, input, result.text);
  const metadata: TraceMetadata = {
    provider: call.provider,
    model: result.model,
    status: 'success',
    ...timing(call, firstTokenAt),
    ...usageMetadata(result.model, usage, source),
    ...callContext(call),
    stream_status: call.stream ? streamStatus : null,
    error: null,
  };
  return { record: baseRecord(call, result.text, metadata, input), usage };
}

/** A call that failed; partial text of a broken stream is kept as the output. */
export function failureTrace(
  call: CallRecord<{ stream?: boolean | undefined }>,
  error: LlmError,
  partialOutput: string,
  firstTokenAt: number | null = null,
): TraceRecord {
  const metadata: TraceMetadata = {
    provider: call.provider,
    model: call.request.model,
    status: 'error',
    ...timing(call, firstTokenAt),
    ...usageMetadata(call.request.model, null, 'missing'),
    ...callContext(call),
    stream_status: null,
    error: { kind: error.kind, status: error.status ?? null, message: error.message },
  };
  return baseRecord(call, partialOutput, metadata);
}

/** A stream the client walked away from: what was generated so far, usage estimated. */
export function abortedTrace(
  call: CallRecord<{ stream?: boolean | undefined }>,
  partialOutput: string,
  firstTokenAt: number | null,
): TraceRecord {
  const result: LlmResult = { text: partialOutput, model: call.request.model, usage: null };
  const { record } = successTrace(call, result, 'aborted', firstTokenAt);
  return record;
}
