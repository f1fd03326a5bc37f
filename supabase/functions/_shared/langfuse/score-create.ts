/**
 * The scores' second path: POST /api/public/scores (`api.scores.create`), one
 * score a request, for when Langfuse's ingestion endpoint no longer takes
 * score-create. Langfuse Cloud limits it per minute by plan (30 on Hobby,
 * 1,000 on Pro; LANGFUSE_SCORES_PER_MINUTE), so creates are spread evenly
 * across the minute rather than sent in a burst, and a 429 waits for its
 * Retry-After. The pace is kept per function instance, across batches and
 * runs.
 *
 * Langfuse dates such a score by its own clock (the route wraps the body in a
 * score-create event stamped "now": web/src/features/public-api/server/
 * scores-api-service.ts, createScore), so its copy is filed under the day it
 * was sent; scores.ts re-files a score whose next delivery would fall on
 * another day.
 */
import type { LangfuseClient } from '@langfuse/client';
import { requestFailure, requestOptions } from './client-calls.ts';
import type { LangfuseSettings } from './config.ts';
import { type Outcome, refusesTheCaller } from './retry.ts';
import { scoreBody } from './score-ingestion.ts';
import type { PendingScore } from './scores.ts';

/** Which path scores take, and the pace of the scores API, for one function instance. */
export class ScoreRoute {
  /** After this long the ingestion endpoint is tried again (a deployment can take it back). */
  static readonly RETRY_INGESTION_AFTER_MS = 3_600_000;
  private ingestionRefusedAt: number | null = null;
  private nextCreateAt = 0;

  usesIngestion(nowMs = Date.now()): boolean {
    return (
      this.ingestionRefusedAt === null ||
      nowMs - this.ingestionRefusedAt >= ScoreRoute.RETRY_INGESTION_AFTER_MS
    );
  }

  ingestionRefused(nowMs = Date.now()): void {
    this.ingestionRefusedAt = nowMs;
  }

  /**
   * Waits for the next create's turn, unless that is past `until`
   * (performance.now()): then false. Langfuse's limiter refuses the request
   * that takes a window's last point (rate-limiter-flexible clamps
   * remainingPoints at 0, and RateLimitService refuses below 1), so a limit of
   * N a minute lets N - 1 through: that is the pace.
   */
  async turn(perMinute: number, until: number): Promise<boolean> {
    const wait = Math.max(0, this.nextCreateAt - performance.now());
    if (performance.now() + wait > until) return false;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    this.nextCreateAt = performance.now() + 60_000 / Math.max(1, perMinute - 1);
    return true;
  }

  /** After a 429: no create before Retry-After. */
  holdFor(seconds: number): void {
    this.nextCreateAt = Math.max(this.nextCreateAt, performance.now() + seconds * 1000);
  }
}

/** The UTC date Langfuse files a score under when the scores API creates it now. */
export const createdScoreDate = (now: Date): string => now.toISOString().slice(0, 10);

export interface CreateAnswer {
  /** By score id; a row without one was not sent. */
  outcomes: Map<string, Outcome>;
  stop: string | null;
}

/** Creates the rows' scores one at a time at the route's pace, until `until` (performance.now()). */
export async function createScores(
  client: LangfuseClient,
  langfuse: LangfuseSettings,
  route: ScoreRoute,
  rows: PendingScore[],
  options: { environment: string; perMinute: number; until: number; now: Date },
): Promise<CreateAnswer> {
  const answer: CreateAnswer = { outcomes: new Map(), stop: null };
  for (const row of rows) {
    if (!(await route.turn(options.perMinute, options.until))) break;
    const request = requestOptions(langfuse);
    try {
      // The spec allows a null comment (CreateScoreRequest.comment is nullable); the SDK's type does not.
      const body = scoreBody(row, options.environment) as unknown as Parameters<
        LangfuseClient['api']['scores']['create']
      >[0];
      await client.api.scores.create(body, request);
      answer.outcomes.set(row.id, { kind: 'delivered' });
    } catch (error) {
      const failure = requestFailure(error, options.now, 'score create', request.abortSignal);
      if (failure.status !== null && refusesTheCaller(failure.status)) {
        answer.stop = failure.stop;
        break;
      }
      answer.outcomes.set(row.id, failure.outcome);
      if (failure.outcome.kind === 'retry') {
        // Langfuse is down or the minute's quota is spent: the rest waits.
        if (failure.status === 429) route.holdFor(failure.outcome.retryAfterSeconds ?? 60);
        answer.stop = failure.stop;
        break;
      }
    }
  }
  return answer;
}
