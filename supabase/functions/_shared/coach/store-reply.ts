/**
 * The step after a successful LLM call, shared by the JSON and the streamed
 * answer: store the reply in the kind's table and its trace (linked to the
 * stored row) in one statement, so both land together, in one round trip.
 *
 * A failure to record the trace must never fail the user's call, so if that
 * statement fails the reply is stored alone and the trace goes to the
 * background writer (which retries, then logs). If the reply cannot be stored
 * either, the call still happened and cost money: its trace is kept, marked
 * as an error, and the error goes on.
 */
import type { Sql } from 'postgres';
import { describeError, isUnknownUser } from '../http/errors.ts';
import type { LlmResult, LlmUsage } from '../llm/types.ts';
import type { CoachDeps } from './deps.ts';
import type { CoachKind, Stored, StoreInput } from './kind.ts';
import { type TraceRecord, traceInsert } from './trace.ts';
import { type CallRecord, successTrace } from './trace-builders.ts';

type AnyBody = { stream?: boolean | undefined };

/** Stores the reply, and with it its trace when one is given: one statement. */
async function store<Body extends AnyBody>(
  sql: Sql,
  kind: CoachKind<Body>,
  input: StoreInput<Body>,
  trace: TraceRecord | null,
): Promise<Stored> {
  const { ctes, fields } = kind.store(sql, { ...input, traceId: trace?.traceId ?? null });
  const traceCte = trace
    ? sql`, trace as (${traceInsert(sql, trace, sql`(select id from stored)`)})`
    : sql``;
  const [row] = await sql<{ id: string }[]>`with ${ctes} ${traceCte} select id from stored`;
  if (!row) throw new Error(`storing the ${kind.entityType} returned no row`);
  return { entityId: row.id, fields: fields(row.id) };
}

/**
 * A reply that could not be stored: the call happened and cost money, so its
 * trace is still written, marked as an error. Returns the error to rethrow.
 */
function recordUnstored(deps: CoachDeps, trace: TraceRecord, error: unknown): unknown {
  const metadata = {
    ...trace.metadata,
    status: 'error' as const,
    error: { kind: 'internal' as const, status: null, message: describeError(error) },
  };
  deps.traces.record({ ...trace, metadata }, null);
  return error;
}

export async function storeReply<Body extends AnyBody>(
  call: CallRecord<Body>,
  deps: CoachDeps,
  result: LlmResult,
  firstTokenAt: number | null = null,
): Promise<{ stored: Stored; usage: LlmUsage }> {
  const trace = successTrace(call, result, 'completed', firstTokenAt);
  const input: StoreInput<Body> = {
    entityId: call.entityId,
    userId: call.userId,
    body: call.body,
    reply: result.text,
    receivedAt: call.receivedAt,
    now: deps.clock.now(),
    sessionId: call.sessionId,
    traceId: null,
  };
  try {
    const stored = await store(deps.sql, call.kind, input, deps.traces.storable(trace.record));
    return { stored, usage: trace.usage };
  } catch (combinedError) {
    // A deleted user's reply cannot be stored alone either.
    if (isUnknownUser(combinedError)) throw recordUnstored(deps, trace.record, combinedError);
    deps.log({
      level: 'warn',
      msg: 'reply and trace not stored together; storing the reply alone',
      traceId: call.traceId,
      error: describeError(combinedError),
    });
  }
  let stored: Stored;
  try {
    stored = await store(deps.sql, call.kind, input, null);
  } catch (error) {
    throw recordUnstored(deps, trace.record, error);
  }
  deps.traces.record({ ...trace.record, entityId: stored.entityId }, call.kind.link);
  return { stored, usage: trace.usage };
}
