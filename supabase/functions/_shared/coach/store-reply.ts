/**
 * The step after a successful LLM call, shared by the JSON and the streamed
 * answer: store the reply in the kind's table, then schedule its trace
 * (linked to the stored row). If storing fails, the call still happened and
 * cost money, so its trace is kept, marked as an error, and the error goes on.
 */
import { describeError } from '../http/errors.ts';
import type { LlmResult, LlmUsage } from '../llm/types.ts';
import type { CoachDeps } from './deps.ts';
import type { Stored } from './kind.ts';
import { type CallRecord, successTrace } from './trace-builders.ts';

export async function storeReply<Body extends { stream?: boolean | undefined }>(
  call: CallRecord<Body>,
  deps: CoachDeps,
  result: LlmResult,
  firstTokenAt: number | null = null,
): Promise<{ stored: Stored; usage: LlmUsage }> {
  const trace = successTrace(call, result, 'completed', firstTokenAt);
  let stored: Stored;
  try {
    stored = await call.kind.store(deps.sql, {
      entityId: call.entityId,
      userId: call.userId,
      body: call.body,
      reply: result.text,
      receivedAt: call.receivedAt,
      now: deps.clock.now(),
    });
  } catch (error) {
    const metadata = {
      ...trace.record.metadata,
      status: 'error' as const,
      error: { kind: 'internal' as const, status: null, message: describeError(error) },
    };
    deps.traces.record({ ...trace.record, metadata }, null);
    throw error;
  }
  deps.traces.record({ ...trace.record, entityId: stored.entityId }, call.kind.link);
  return { stored, usage: trace.usage };
}
