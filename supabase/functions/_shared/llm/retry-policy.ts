/**
 * When to send an LLM request again, and after how long: pure functions, no
 * timers, so the rules are tested on their own. retry.ts applies them.
 *
 * The rules are the official SDKs' (408, 409, 429 and 5xx, Anthropic's 529
 * included, and connection failures and timeouts; backoff 0.5 s, 1 s, 2 s...
 * capped at 8 s, minus up to 25% jitter; the provider's retry-after-ms or
 * Retry-After wins), bounded by one deadline for the whole call.
 */
import type { LlmError } from './types.ts';

const INITIAL_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;

/** A status worth sending the same request again for. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export function isRetryable(failure: LlmError): boolean {
  if (failure.kind === 'timeout') return true;
  if (failure.kind !== 'upstream') return false;
  return failure.status === undefined
    ? failure.connectionFailed
    : isRetryableStatus(failure.status);
}

/**
 * The wait before the `retry`-th retry (1-based) when the provider names none:
 * doubling from 0.5 s, capped at 8 s, minus up to 25% so clients spread out.
 * `random` is a draw in [0, 1).
 */
export function backoffDelayMs(retry: number, random: number): number {
  const delay = Math.min(INITIAL_DELAY_MS * 2 ** Math.max(0, retry - 1), MAX_DELAY_MS);
  return delay * (1 - random * 0.25);
}

interface HeaderSource {
  get(name: string): string | null;
}

/**
 * How long the provider asks us to wait, in seconds: `retry-after-ms` (OpenAI
 * and Anthropic send it) first, then `Retry-After` as seconds or an HTTP date.
 * A date in the past means now (0); a value that is neither means nothing.
 */
export function parseRetryAfterSeconds(
  headers: HeaderSource | null | undefined,
  nowMs: number,
): number | undefined {
  const millis = headers?.get('retry-after-ms')?.trim();
  if (millis && /^\d+(\.\d+)?$/.test(millis)) return Number(millis) / 1000;
  const value = headers?.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  // An HTTP date names its weekday and month; Date.parse would also take '-5' as a year.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, (date - nowMs) / 1000);
}

export interface FailedAttempt {
  failure: LlmError;
  /** Requests made so far, the failed one included. */
  attempts: number;
  /** LLM_MAX_RETRIES: requests after the first. */
  maxRetries: number;
  /** Until the call's deadline (0 or less: passed). */
  msLeft: number;
  /** A draw in [0, 1) for the jitter. */
  random: number;
}

export type RetryDecision =
  | { action: 'retry'; delayMs: number }
  /** The provider's Retry-After passes the deadline: tell the client when to come back. */
  | { action: 'unavailable'; retryAfterSeconds: number }
  /** Answer with this failure as it is. */
  | { action: 'give-up'; reason: 'not-retryable' | 'no-retries-left' | 'past-deadline' };

export function retryDecision(attempt: FailedAttempt): RetryDecision {
  const { failure, msLeft } = attempt;
  if (!isRetryable(failure)) return { action: 'give-up', reason: 'not-retryable' };
  const retryAfterMs =
    failure.retryAfterSeconds === undefined ? undefined : failure.retryAfterSeconds * 1000;
  // Waiting as asked would end past the deadline: no point in waiting at all.
  if (
    retryAfterMs !== undefined &&
    (failure.status === 429 || failure.status === 503) &&
    retryAfterMs >= msLeft
  ) {
    return { action: 'unavailable', retryAfterSeconds: failure.retryAfterSeconds as number };
  }
  if (attempt.attempts > attempt.maxRetries)
    return { action: 'give-up', reason: 'no-retries-left' };
  const delayMs = retryAfterMs ?? backoffDelayMs(attempt.attempts, attempt.random);
  if (delayMs >= msLeft) return { action: 'give-up', reason: 'past-deadline' };
  return { action: 'retry', delayMs };
}
