/**
 * What to do after a failed delivery: 4xx (but 429) is final, everything else
 * (5xx, 429, timeouts, dropped connections) is tried again later, with
 * exponential backoff, never sooner than the peer's Retry-After.
 */
export type Outcome =
  | { kind: 'delivered' }
  | { kind: 'rejected'; error: string }
  | { kind: 'retry'; error: string; retryAfterSeconds?: number };

export function outcomeForStatus(
  status: number,
  error: string,
  retryAfterSeconds?: number,
): Outcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status >= 400 && status < 500 && status !== 429 && status !== 408)
    return { kind: 'rejected', error };
  return { kind: 'retry', error, retryAfterSeconds };
}

/**
 * A whole request refused for who sent it or where, not for what it carried:
 * keys, permissions, a wrong base URL. The rows are not at fault and stay as
 * they are; the run stops.
 */
export function refusesTheCaller(status: number): boolean {
  return status === 401 || status === 403 || status === 404 || status === 405;
}

const BASE_DELAY_SECONDS = 30;
const MAX_DELAY_SECONDS = 6 * 3600;

/** When to try again after the `attempts`-th failure. */
export function nextAttemptAt(now: Date, attempts: number, retryAfterSeconds?: number): Date {
  const backoff = Math.min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** Math.max(0, attempts - 1));
  const seconds = Math.max(backoff, retryAfterSeconds ?? 0);
  return new Date(now.getTime() + seconds * 1000);
}

/** Retry-After in seconds, from either form the header may take. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}
