/**
 * The step after a successful LLM call, shared by the JSON and the streamed
 * answer: store the reply in the kind's table and its trace (linked to the
 * stored row) with one call of the kind's store function, so both land
 * together, in one round trip, within the database deadline. A function,
 * because PL/pgSQL keeps its statements' plans per connection: through a
 * transaction pooler, without prepared statements, this statement is the
 * costliest Postgres parses and plans per call (migration 20251130000005).
 *
 * The call has been paid for, so its answer is never lost:
 *  - the database is down, frozen or too slow: the user gets the reply anyway,
 *    marked `stored: false`, and the same statement is retried in the
 *    background until it lands (or its complete record is logged);
 *  - the combined statement fails for another reason: the reply is stored
 *    alone and the trace goes to the background writer;
 *  - the reply cannot be stored at all (the user was deleted): its trace is
 *    still written, marked as an error, and the error goes on.
 */
import { withinDeadline } from '../db/deadline.ts';
import { q, run, type Statement } from '../db/statement.ts';
import { describeError, isUnavailable, isUnknownUser } from '../http/errors.ts';
import { storable } from '../http/validation.ts';
import type { LlmResult, LlmUsage } from '../llm/types.ts';
import type { CoachDeps } from './deps.ts';
import type { StoredRow, StoreInput, StoreStatement } from './kind.ts';
import { type TraceRecord, traceArgument, traceSettlement } from './trace.ts';
import { type CallRecord, successTrace } from './trace-builders.ts';

type AnyBody = { stream?: boolean | undefined };

export interface StoreOutcome {
  /** The reply as stored (NUL, which Postgres text cannot hold, replaced). */
  reply: string;
  /** Kind-specific fields of the answer, such as messageId. */
  fields: Record<string, unknown>;
  /** False when the database could not take the reply yet: it is being stored in the background. */
  stored: boolean;
  usage: LlmUsage;
}

/** The call of the kind's store function: the reply, and with it its trace when one is given. */
function callOf(storage: StoreStatement, trace: TraceRecord | null): Statement {
  return storage.call(traceArgument(trace), traceSettlement(trace));
}

/**
 * The statement that stores the reply (and its trace): the same on the
 * response path, in the background and in a replay (replay.ts).
 */
export function storeStatement(storage: StoreStatement, trace: TraceRecord | null): Statement {
  return q`select stored.* from ${callOf(storage, trace)} as stored`;
}

async function store(
  deps: CoachDeps,
  storage: StoreStatement,
  trace: TraceRecord | null,
  entityType: string,
): Promise<StoredRow> {
  const [row] = await withinDeadline(
    deps.sql,
    () =>
      run<StoredRow[]>(deps.sql, storeStatement(storage, trace), {
        prepare: deps.config.dbPrepare,
      }),
    deps.config.dbTimeoutMs,
    'storing the reply',
  );
  if (!row) throw new Error(`storing the ${entityType} returned no row`);
  return row;
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
): Promise<StoreOutcome> {
  const { kind } = call;
  const reply = storable(result.text);
  const trace = successTrace(call, { ...result, text: reply }, 'completed', firstTokenAt);
  const input: StoreInput<Body> = {
    entityId: call.entityId,
    userId: call.userId,
    body: call.body,
    reply,
    receivedAt: call.receivedAt,
    now: deps.clock.now(),
    sessionId: call.sessionId,
  };
  // One storage for every attempt: the same ids whether it lands now, alone or later.
  const storage = kind.store(input);
  const { fields } = storage;
  const storableTrace = deps.traces.storable(trace.record);
  try {
    const row = await store(deps, storage, storableTrace, kind.entityType);
    return { reply, fields: fields(row), stored: true, usage: trace.usage };
  } catch (combinedError) {
    // A deleted user's reply cannot be stored alone either.
    if (isUnknownUser(combinedError)) throw recordUnstored(deps, trace.record, combinedError);
    if (isUnavailable(combinedError)) {
      deps.log({
        level: 'warn',
        msg: 'database unavailable: reply answered, stored in the background',
        traceId: call.traceId,
        error: describeError(combinedError),
      });
      deps.traces.persist({
        traceId: call.traceId,
        attemptedBefore: true,
        statement: storeStatement(storage, storableTrace),
        record: { endpoint: kind.endpoint, store: input, trace: storableTrace },
      });
      return { reply, fields: fields(null), stored: false, usage: trace.usage };
    }
    deps.log({
      level: 'warn',
      msg: 'reply and trace not stored together; storing the reply alone',
      traceId: call.traceId,
      error: describeError(combinedError),
    });
  }
  let row: StoredRow;
  try {
    row = await store(deps, storage, null, kind.entityType);
  } catch (error) {
    throw recordUnstored(deps, trace.record, error);
  }
  deps.traces.record({ ...trace.record, entityId: row.id }, kind.link);
  return { reply, fields: fields(row), stored: true, usage: trace.usage };
}
