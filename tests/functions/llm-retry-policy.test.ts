/**
 * The LLM retry rules as pure functions: the backoff for each retry, the
 * provider's Retry-After in its three forms, and what to do after a failed
 * attempt given the time left before the call's deadline. No timers.
 */
import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  type FailedAttempt,
  parseRetryAfterSeconds,
  retryDecision,
} from '../../supabase/functions/_shared/llm/retry-policy.ts';
import { LlmError, type LlmErrorDetails } from '../../supabase/functions/_shared/llm/types.ts';

const upstream = (status?: number, details: LlmErrorDetails = {}) =>
  new LlmError('upstream', `failed with ${status}`, status, details);

function decide(failure: LlmError, attempt: Partial<Omit<FailedAttempt, 'failure'>> = {}) {
  return retryDecision({
    failure,
    attempts: 1,
    maxRetries: 2,
    msLeft: 25_000,
    random: 0,
    ...attempt,
  });
}

describe('backoffDelayMs', () => {
  it('doubles from 0.5 s up to 8 s', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((retry) => backoffDelayMs(retry, 0))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000,
    ]);
  });

  it('takes up to 25% off as jitter', () => {
    expect(backoffDelayMs(1, 0.5)).toBe(437.5);
    expect(backoffDelayMs(2, 0.999_999)).toBeCloseTo(750, 2);
    expect(backoffDelayMs(5, 0.999_999)).toBeCloseTo(6000, 1);
  });
});

describe('parseRetryAfterSeconds', () => {
  const now = Date.parse('2026-11-20T12:00:00Z');
  const headers = (entries: Record<string, string>) => new Headers(entries);

  it('reads seconds, fractions included', () => {
    expect(parseRetryAfterSeconds(headers({ 'retry-after': '30' }), now)).toBe(30);
    expect(parseRetryAfterSeconds(headers({ 'retry-after': ' 1.5 ' }), now)).toBe(1.5);
    expect(parseRetryAfterSeconds(headers({ 'retry-after': '0' }), now)).toBe(0);
  });

  it('reads an HTTP date, and a date already past as now', () => {
    const later = headers({ 'retry-after': 'Fri, 20 Nov 2026 12:00:10 GMT' });
    expect(parseRetryAfterSeconds(later, now)).toBe(10);
    const past = headers({ 'retry-after': 'Fri, 20 Nov 2026 11:59:00 GMT' });
    expect(parseRetryAfterSeconds(past, now)).toBe(0);
  });

  it('prefers retry-after-ms, as the SDKs do', () => {
    const both = headers({ 'retry-after-ms': '250', 'retry-after': '30' });
    expect(parseRetryAfterSeconds(both, now)).toBe(0.25);
    const badMs = headers({ 'retry-after-ms': 'soon', 'retry-after': '3' });
    expect(parseRetryAfterSeconds(badMs, now)).toBe(3);
  });

  it('ignores what is neither', () => {
    for (const value of ['-5', 'soon', 'tomorrow', '', '1e3'])
      expect(parseRetryAfterSeconds(headers({ 'retry-after': value }), now)).toBeUndefined();
    expect(parseRetryAfterSeconds(headers({}), now)).toBeUndefined();
    expect(parseRetryAfterSeconds(undefined, now)).toBeUndefined();
  });
});

describe('retryDecision', () => {
  it('retries 408, 409, 429 and 5xx (529 included), connection failures and timeouts', () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504, 529])
      expect(decide(upstream(status))).toEqual({ action: 'retry', delayMs: 500 });
    expect(decide(upstream(undefined, { connectionFailed: true }))).toMatchObject({
      action: 'retry',
    });
    expect(decide(new LlmError('timeout', 'timed out'))).toMatchObject({ action: 'retry' });
  });

  it('gives up at once on what another request would not fix, and on the caller abort', () => {
    for (const failure of [
      upstream(400),
      upstream(401),
      upstream(404),
      upstream(422),
      upstream(undefined),
      new LlmError('aborted', 'the request was aborted'),
    ])
      expect(decide(failure)).toEqual({ action: 'give-up', reason: 'not-retryable' });
  });

  it('backs off longer with each retry, up to LLM_MAX_RETRIES', () => {
    expect(decide(upstream(500), { attempts: 2 })).toEqual({ action: 'retry', delayMs: 1000 });
    expect(decide(upstream(500), { attempts: 3 })).toEqual({
      action: 'give-up',
      reason: 'no-retries-left',
    });
    expect(decide(upstream(500), { maxRetries: 0 })).toMatchObject({ reason: 'no-retries-left' });
  });

  it('waits as long as the provider asks, when that ends before the deadline', () => {
    expect(decide(upstream(429, { retryAfterSeconds: 1 }))).toEqual({
      action: 'retry',
      delayMs: 1000,
    });
    expect(decide(upstream(503, { retryAfterSeconds: 0 }))).toEqual({
      action: 'retry',
      delayMs: 0,
    });
    // A long wait is fine as long as it fits: the SDKs' 60 s cap is the deadline's job here.
    expect(decide(upstream(429, { retryAfterSeconds: 20 }))).toEqual({
      action: 'retry',
      delayMs: 20_000,
    });
  });

  it('answers unavailable at once when a 429 or 503 asks to wait past the deadline', () => {
    expect(decide(upstream(429, { retryAfterSeconds: 30 }))).toEqual({
      action: 'unavailable',
      retryAfterSeconds: 30,
    });
    expect(decide(upstream(503, { retryAfterSeconds: 2 }), { msLeft: 2000 })).toEqual({
      action: 'unavailable',
      retryAfterSeconds: 2,
    });
    // With no retry left, the client still learns when to come back.
    expect(decide(upstream(429, { retryAfterSeconds: 30 }), { attempts: 3 })).toMatchObject({
      action: 'unavailable',
    });
  });

  it('stops when the wait would pass the deadline, keeping the failure as it is', () => {
    // Other statuses with a Retry-After keep their own answer (502).
    expect(decide(upstream(500, { retryAfterSeconds: 30 }))).toEqual({
      action: 'give-up',
      reason: 'past-deadline',
    });
    // The backoff (0.5 s) would pass a deadline 400 ms away.
    expect(decide(upstream(500), { msLeft: 400 })).toEqual({
      action: 'give-up',
      reason: 'past-deadline',
    });
    expect(decide(new LlmError('timeout', 'timed out'), { msLeft: 0 })).toMatchObject({
      reason: 'past-deadline',
    });
  });
});
