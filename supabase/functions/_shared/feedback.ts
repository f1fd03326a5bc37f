/**
 * POST /feedback {traceId, value: 0 | 1, comment?}: the user's thumbs up or
 * down on one coach answer, stored as a user_feedback score.
 *
 * The write runs as the user (asUser), so RLS decides: a trace that does not
 * exist and a trace of someone else both answer 404, with no hint which. One
 * feedback per trace: giving it again replaces value and comment (the latest
 * wins, even after it was sent), and the changed score is queued to be sent
 * again under the same id, which Langfuse upserts. 201 when created, 200 when
 * updated. Each user has a rate limit on it (RATE_LIMIT_FEEDBACK), and every
 * database wait ends by the deadline (503 past it).
 */
import type { Sql } from 'postgres';
import { z } from 'zod';
import type { Authenticator } from './auth.ts';
import type { RateLimitPolicy } from './config.ts';
import { asUser } from './db/as-user.ts';
import { withinDeadline } from './db/deadline.ts';
import { readJsonBody } from './http/body.ts';
import { preflightResponse } from './http/cors.ts';
import { errorResponse, HttpError, jsonResponse } from './http/errors.ts';
import { assertRoute } from './http/route.ts';
import { storableText } from './http/validation.ts';
import type { Logger } from './log.ts';
import { countRequest } from './rate-limit/enforce.ts';

export const FeedbackBodySchema = z.strictObject({
  traceId: z.uuid(),
  value: z.union([z.literal(0), z.literal(1)]),
  comment: storableText(1000).optional(),
});
export type FeedbackBody = z.infer<typeof FeedbackBodySchema>;

export interface FeedbackDeps {
  sql: Sql;
  auth: Authenticator;
  log: Logger;
  config: {
    maxBodyBytes: number;
    bodyReadTimeoutMs: number;
    dbTimeoutMs: number;
    feedbackRateLimit: RateLimitPolicy;
    rateLimitFailMode: 'open' | 'closed';
    dbPrepare: boolean;
  };
  clock: { now(): Date };
}

/** RLS refusing the row, or the trace's foreign key: either way, no such trace for this user. */
function isNotYours(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '42501' || code === '23503';
}

export function createFeedbackHandler(deps: FeedbackDeps) {
  return async (req: Request): Promise<Response> => {
    try {
      if (req.method === 'OPTIONS') return preflightResponse();
      assertRoute(req, 'feedback', ['POST']);
      const user = await deps.auth.user(req);
      const body = await readJsonBody(
        req,
        FeedbackBodySchema,
        deps.config.maxBodyBytes,
        deps.config.bodyReadTimeoutMs,
      );
      const { headers } = await countRequest(
        {
          sql: deps.sql,
          log: deps.log,
          failMode: deps.config.rateLimitFailMode,
          timeoutMs: deps.config.dbTimeoutMs,
          prepare: deps.config.dbPrepare,
        },
        {
          endpoint: 'feedback',
          userId: user.userId,
          policy: deps.config.feedbackRateLimit,
          now: deps.clock.now(),
        },
      );
      let row: { id: string; inserted: boolean } | undefined;
      try {
        [row] = await withinDeadline(
          deps.sql,
          () =>
            asUser(
              deps.sql,
              user.claims,
              (tx) => tx<{ id: string; inserted: boolean }[]>`
            insert into public.langfuse_scores (trace_id, score_name, value, comment, status, sent_at)
            values (${body.traceId}, 'user_feedback', ${body.value}, ${body.comment ?? null}, 'pending', null)
            on conflict (trace_id, score_name)
            do update set value = excluded.value, comment = excluded.comment
            returning id, (xmax = 0) as inserted
          `,
              deps.config.dbTimeoutMs,
            ),
          deps.config.dbTimeoutMs,
          'feedback',
        );
      } catch (error) {
        if (isNotYours(error)) throw new HttpError(404, 'not_found', `No trace ${body.traceId}.`);
        throw error;
      }
      if (!row) throw new Error('feedback upsert returned no row');
      return jsonResponse(
        { scoreId: row.id, traceId: body.traceId, value: body.value, status: 'pending' },
        row.inserted ? 201 : 200,
        headers,
      );
    } catch (error) {
      return errorResponse(error, deps.log);
    }
  };
}
