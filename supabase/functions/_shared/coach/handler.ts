/**
 * The coach pipeline behind every LLM endpoint:
 *
 *   route -> auth -> body -> rate limit + budget + prompt context -> LLM
 *     -> reply + trace + budget settled -> respond
 *
 * Two statements per call: the rate-limit count (after what the database
 * must agree to, with the budget's reservation and what the prompt needs
 * from the database) and the reply stored with its trace, which settles the
 * reservation to what the call cost. Each ends by the database deadline (DB_TIMEOUT_MS):
 * before the LLM is called, a database that does not answer is 503; after
 * it, the reply is answered anyway and stored in the background.
 *
 * A handler is built from its kind and its dependencies, so tests build the
 * same handler with real Postgres and the mock LLM.
 */

import {
  type BudgetAnswer,
  type BudgetReservation,
  budgetDecision,
  budgetHeaders,
  type ReservationAsk,
  reservationExpression,
} from '../budget/reservation.ts';
import { readJsonBody } from '../http/body.ts';
import { preflightResponse } from '../http/cors.ts';
import { describeError, errorResponse, jsonResponse, serviceUnavailable } from '../http/errors.ts';
import { assertRoute } from '../http/route.ts';
import { startServerTiming } from '../http/server-timing.ts';
import { costUsd, priceOf } from '../llm/prices.ts';
import { estimateTokens } from '../llm/tokens.ts';
import { LlmError, type LlmProvider, type LlmRequest } from '../llm/types.ts';
import { countRequest } from '../rate-limit/enforce.ts';
import { type CoachDeps, llmHttpError } from './deps.ts';
import type { CoachKind } from './kind.ts';
import { SYSTEM_PROMPTS } from './prompts.ts';
import { storeReply } from './store-reply.ts';
import { streamReply } from './stream.ts';
import { type CallRecord, failureTrace } from './trace-builders.ts';

/**
 * What the budget reserves before the call: the prompt without its context
 * and the output limit, priced; the context's share is added in SQL, where
 * the context is read.
 */
function budgetAsk<Body extends { stream?: boolean | undefined }>(
  deps: CoachDeps,
  kind: CoachKind<Body>,
  userId: string,
  body: Body,
  now: Date,
): ReservationAsk | null {
  const llm = deps.config.llm;
  if (!deps.config.budgets || !llm) return null;
  const text = kind
    .messages(body, null, deps.config)
    .reduce((all, message) => all + message.content, SYSTEM_PROMPTS[kind.entityType]);
  const input = estimateTokens(text) + MESSAGE_OVERHEAD_TOKENS;
  const price = priceOf(llm.model);
  return {
    userId,
    tokens: input + llm.maxOutputTokens,
    cost: costUsd(llm.model, { inputTokens: input, outputTokens: llm.maxOutputTokens }),
    costPerInputToken: price ? price.inputPerMillion / 1_000_000 : null,
    now,
  };
}

/** A few tokens a message for the wire format's roles and separators. */
const MESSAGE_OVERHEAD_TOKENS = 16;

/**
 * Counts the request (after the kind's precondition), reserves its budget
 * and reads the prompt's context: one statement.
 */
async function enforceLimits<Body extends { stream?: boolean | undefined }>(
  deps: CoachDeps,
  kind: CoachKind<Body>,
  userId: string,
  body: Body,
): Promise<{
  headers: Record<string, string>;
  context: unknown;
  reservation: BudgetReservation | null;
}> {
  const now = deps.clock.now();
  const ask = budgetAsk(deps, kind, userId, body, now);
  const counted = await countRequest(
    {
      sql: deps.sql,
      log: deps.log,
      failMode: deps.config.rateLimitFailMode,
      timeoutMs: deps.config.dbTimeoutMs,
      prepare: deps.config.dbPrepare,
    },
    {
      endpoint: kind.endpoint,
      userId,
      policy: deps.config.rateLimits[kind.endpoint],
      now,
      context: kind.context(userId, body, deps.config),
      precondition: kind.precondition?.(userId, body, now) ?? null,
      reservation: ask ? reservationExpression(ask) : null,
    },
  );
  const answer = counted.budget as BudgetAnswer | null;
  const reservation = budgetDecision(answer, userId, now);
  return {
    headers: { ...counted.headers, ...budgetHeaders(answer, now) },
    context: counted.context,
    reservation,
  };
}

export function createCoachHandler<Body extends { stream?: boolean | undefined }>(
  kind: CoachKind<Body>,
  deps: CoachDeps,
): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      const timing = startServerTiming();
      if (req.method === 'OPTIONS') return preflightResponse();
      assertRoute(req, kind.endpoint, ['POST']);
      const receivedAt = deps.clock.now();
      const user = await deps.auth.user(req);
      timing.mark('auth');
      const body = await readJsonBody(
        req,
        kind.bodySchema,
        deps.config.maxBodyBytes,
        deps.config.bodyReadTimeoutMs,
      );
      timing.mark('body');
      const {
        headers: limitHeaders,
        context,
        reservation,
      } = await enforceLimits(deps, kind, user.userId, body);
      timing.mark('ratelimit');
      const llmConfig = deps.config.llm;
      if (!deps.llm || !llmConfig) throw serviceUnavailable('No LLM provider is configured.');

      const messages = kind.messages(body, context, deps.config);
      timing.mark('prompt');
      const request: LlmRequest = {
        system: SYSTEM_PROMPTS[kind.entityType],
        messages,
        model: llmConfig.model,
        maxOutputTokens: llmConfig.maxOutputTokens,
        signal: req.signal,
      };
      const call: CallRecord<Body> = {
        kind,
        userId: user.userId,
        body,
        request,
        provider: deps.llm.name,
        environment: deps.config.environment,
        release: deps.config.release ?? null,
        sessionId: kind.sessionId?.(body) ?? null,
        traceId: crypto.randomUUID(),
        entityId: crypto.randomUUID(),
        receivedAt,
        startedAt: performance.now(),
        stream: body.stream === true,
        reservation,
      };
      if (call.stream) return streamReply(call, deps, limitHeaders);

      let result: Awaited<ReturnType<LlmProvider['complete']>>;
      try {
        result = await deps.llm.complete(request);
        timing.mark('llm');
      } catch (error) {
        const failure =
          error instanceof LlmError ? error : new LlmError('upstream', describeError(error));
        deps.traces.record(failureTrace(call, failure, ''), null);
        throw llmHttpError(failure);
      }
      const outcome = await storeReply(call, deps, result);
      timing.mark('store');
      return jsonResponse(
        {
          reply: outcome.reply,
          ...outcome.fields,
          traceId: call.traceId,
          usage: outcome.usage,
          stored: outcome.stored,
        },
        200,
        { ...limitHeaders, 'server-timing': timing.header() },
      );
    } catch (error) {
      return errorResponse(error, deps.log);
    }
  };
}
