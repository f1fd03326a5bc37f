/**
 * What differs between the coach endpoints (ai-coach, encouragement,
 * reflection, daily-status): the body, the prompt's context, and the row the
 * reply is stored in. Everything else is the shared pipeline.
 */
import type { z } from 'zod';
import type { AppConfig, CoachEndpoint } from '../config.ts';
import type { Statement } from '../db/statement.ts';
import type { HttpError } from '../http/errors.ts';
import type { ChatMessage } from '../llm/types.ts';
import type { EntityType } from './entity-types.ts';
import type { TraceLink } from './trace.ts';

export interface StoreInput<Body> {
  /** The id reserved for the produced row before the call. */
  entityId: string;
  userId: string;
  body: Body;
  reply: string;
  /** When the request arrived: user-authored rows are dated then, replies now. */
  receivedAt: Date;
  now: Date;
  /** The call's session (ai-coach: the conversation), decided before the call; null if none. */
  sessionId: string | null;
}

/** How a kind stores its reply: a call of its store function (migration 20251130000005). */
export interface StoreStatement {
  /**
   * The call, as `public.store_<kind>(<the kind's values>, trace, settlement)`:
   * the function stores the reply's row(s), the trace (a public.coach_trace,
   * null to store the reply alone) and the budget settlement together, and
   * returns the produced row's `id` (and whatever else `fields` reads).
   */
  call(trace: Statement, settlement: Statement): Statement;
  /**
   * Kind-specific fields of the response, such as messageId, from the stored
   * row; from what is known before storing when `row` is null (the database
   * could not take the reply yet: it is being stored in the background).
   */
  fields(row: StoredRow | null): Record<string, unknown>;
}

/** The row `stored` returned. */
export type StoredRow = { id: string } & Record<string, unknown>;

/** A condition the database checks before the request counts (rate limit) or costs (LLM). */
export interface Precondition {
  /** An SQL boolean; false refuses the request. */
  check: Statement;
  /** The answer when it is false. */
  refusal: HttpError;
}

export interface Stored {
  /** The produced row; differs from the reserved id when an upsert hit an existing row. */
  entityId: string;
  /** Kind-specific fields of the response, such as messageId and conversationId. */
  fields: Record<string, unknown>;
}

export interface CoachKind<Body extends { stream?: boolean | undefined }> {
  endpoint: CoachEndpoint;
  entityType: EntityType;
  bodySchema: z.ZodType<Body>;
  /**
   * What the prompt needs from the database, as one SQL expression yielding
   * JSON, or null when it needs nothing. It is read in the rate-limit
   * statement (only when the request is allowed), so it costs no round trip.
   */
  context(userId: string, body: Body, config: AppConfig): Statement | null;
  /**
   * What the database must agree to before the request counts or the LLM is
   * called (daily-status: a date among the user's recent days; ai-coach: a
   * conversation that is not another user's), checked in the rate-limit
   * statement; null when there is nothing to check.
   */
  precondition?(userId: string, body: Body, now: Date): Precondition | null;
  /**
   * The most characters the context may add to the prompt, for the budget's
   * reservation (which is made before the context is read); 0 when none.
   */
  maxContextChars?(body: Body, config: AppConfig): number;
  /** The conversation for the LLM, system prompt aside, from the body and the context read. */
  messages(body: Body, context: unknown, config: AppConfig): ChatMessage[];
  /** Builds the statement that stores the reply in the kind's table (it runs nothing). */
  store(input: StoreInput<Body>): StoreStatement;
  /**
   * The session the call belongs to, when the kind has one: ai-coach turns of
   * one conversation share the conversationId, so Langfuse groups them. A new
   * conversation gets its id here, before the call, so its first trace has it.
   */
  sessionId?(body: Body): string;
  link: TraceLink | null;
}
