/**
 * The coach pipeline behind every LLM endpoint:
 *
 *   route -> auth -> body -> rate limit + prompt context -> LLM -> reply + trace -> respond
 *
 * Two statements per call: the rate-limit count (with what the prompt needs
 * from the database) and the reply stored with its trace.
 *
 * A handler is built from its kind and its dependencies, so tests build the
 * same handler with real Postgres and the mock LLM.
 */
import { readJsonBody } from '../http/body.ts';
import { preflightResponse } from '../http/cors.ts';
import {
  describeError,
  errorResponse,
  HttpError,
  isUnknownUser,
  jsonResponse,
  serviceUnavailable,
  unknownUser,
} from '../http/errors.ts';
import { assertRoute } from '../http/route.ts';
import { startServerTiming } from '../http/server-timing.ts';
import { LlmError, type LlmProvider, type LlmRequest } from '../llm/types.ts';
import {
  type RateLimitDecision,
  type RateLimitRow,
  rateLimitDecision,
  rateLimitHeaders,
  rateLimitStatement,
} from '../rate-limit/limiter.ts';
import { type CoachDeps, llmHttpError } from './deps.ts';
import type { CoachKind } from './kind.ts';
import { SYSTEM_PROMPTS } from './prompts.ts';
import { storeReply } from './store-reply.ts';
import { streamReply } from './stream.ts';
import { type CallRecord, failureTrace } from './trace-builders.ts';

/**
 * Counts the request against the endpoint's limit and, when it is allowed,
 * reads the kind's prompt context in the same statement: one round trip.
 * Over the limit it throws 429 (and the LLM is never called).
 */
async function enforceRateLimit<Body extends { stream?: boolean | undefined }>(
  deps: CoachDeps,
  kind: CoachKind<Body>,
  userId: string,
  body: Body,
): Promise<{ headers: Record<string, string>; context: unknown }> {
  const policy = deps.config.rateLimits[kind.endpoint];
  const context = kind.context(deps.sql, userId, body, deps.config);
  const now = deps.clock.now();
  let decision: RateLimitDecision;
  let row: RateLimitRow | undefined;
  try {
    [row] = await deps.sql<RateLimitRow[]>`${rateLimitStatement(
      deps.sql,
      userId,
      kind.endpoint,
      policy,
      now,
      context,
    )}`;
    decision = rateLimitDecision(row, kind.endpoint, policy, now);
  } catch (error) {
    if (isUnknownUser(error)) throw unknownUser();
    deps.log({
      level: 'warn',
      msg: 'rate limit check failed',
      endpoint: kind.endpoint,
      failMode: deps.config.rateLimitFailMode,
      error: describeError(error),
    });
    if (deps.config.rateLimitFailMode === 'closed') {
      throw serviceUnavailable('The rate limiter is unavailable. Please try again shortly.');
    }
    // Open: the request goes on unlimited, and its context is read alone.
    if (!context) return { headers: {}, context: null };
    const [alone] = await deps.sql<{ context: unknown }[]>`select ${context} as context`;
    return { headers: {}, context: alone?.context ?? null };
  }
  const headers = rateLimitHeaders(decision);
  if (!decision.allowed) {
    throw new HttpError(
      429,
      'rate_limited',
      `Too many requests to ${kind.endpoint}: the limit is ${policy.limit} per ${policy.windowSeconds} seconds.`,
      {
        details: {
          limit: policy.limit,
          windowSeconds: policy.windowSeconds,
          retryAfterSeconds: decision.resetSeconds,
        },
        headers,
      },
    );
  }
  return { headers, context: row?.context ?? null };
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
      const body = await readJsonBody(req, kind.bodySchema, deps.config.maxBodyBytes);
      timing.mark('body');
      const { headers: limitHeaders, context } = await enforceRateLimit(
        deps,
        kind,
        user.userId,
        body,
      );
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
      const { stored, usage } = await storeReply(call, deps, result);
      timing.mark('store');
      return jsonResponse(
        { reply: result.text, ...stored.fields, traceId: call.traceId, usage },
        200,
        { ...limitHeaders, 'server-timing': timing.header() },
      );
    } catch (error) {
      return errorResponse(error, deps.log);
    }
  };
}
