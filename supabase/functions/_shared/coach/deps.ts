/** What the coach pipeline needs from the world, passed in so tests supply real local peers. */
import type { Sql } from 'postgres';
import type { Authenticator } from '../auth.ts';
import type { AppConfig } from '../config.ts';
import { HttpError } from '../http/errors.ts';
import type { LlmError, LlmProvider } from '../llm/types.ts';
import type { Logger } from '../log.ts';
import type { TraceWriter } from './trace-writer.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface CoachDeps {
  sql: Sql;
  llm: LlmProvider | null;
  config: AppConfig;
  auth: Authenticator;
  clock: Clock;
  traces: TraceWriter;
  log: Logger;
}

/**
 * The answer for a failed LLM call: 504 for a timeout (LLM_DEADLINE_MS included);
 * 503 with the provider's Retry-After when it asked us to wait past the deadline;
 * 502 for everything else upstream.
 */
export function llmHttpError(error: LlmError): HttpError {
  if (error.kind === 'timeout') {
    return new HttpError(
      504,
      'upstream_timeout',
      'The coach took too long to answer. Please try again.',
    );
  }
  if (error.kind === 'unavailable') {
    const retryAfterSeconds = Math.max(1, Math.ceil(error.retryAfterSeconds ?? 1));
    return new HttpError(
      503,
      'service_unavailable',
      `The coach is busy right now. Please try again in ${retryAfterSeconds} seconds.`,
      {
        details: { upstreamStatus: error.status, retryAfterSeconds },
        headers: { 'retry-after': String(retryAfterSeconds) },
      },
    );
  }
  return new HttpError(
    502,
    'upstream_error',
    'The coach could not answer right now. Please try again.',
    {
      details: error.status ? { upstreamStatus: error.status } : undefined,
    },
  );
}
