/**
 * Calls through @langfuse/client, bounded and read the sync's way: no retries
 * of the client's own (the sync schedules its own), and the whole answer
 * within LANGFUSE_TIMEOUT_MS (the client's own timeout stops at the headers,
 * so a body that never ends would hang it; the abort signal bounds both).
 */
import type { LangfuseSettings } from './config.ts';
import { type Outcome, outcomeForStatus, parseRetryAfter } from './retry.ts';

/** Per-request options of @langfuse/client. */
export function requestOptions(langfuse: LangfuseSettings) {
  const abortSignal = AbortSignal.timeout(langfuse.timeoutMs);
  return {
    maxRetries: 0,
    timeoutInSeconds: langfuse.timeoutMs / 1000,
    abortSignal,
  };
}

/** A failed @langfuse/client call as an outcome, and why the run stops. */
export function requestFailure(
  error: unknown,
  now: Date,
  what = 'ingestion',
  signal?: AbortSignal,
): { outcome: Outcome; stop: string; status: number | null } {
  if (signal?.aborted) {
    const message = 'no complete answer within the Langfuse timeout';
    return {
      outcome: { kind: 'retry', error: message },
      stop: `${what} failed: ${message}`,
      status: null,
    };
  }
  const failure = error as {
    statusCode?: number;
    rawResponse?: { headers?: Headers };
    message?: string;
  };
  const message = failure?.message ?? String(error);
  if (typeof failure?.statusCode === 'number') {
    const retryAfter = parseRetryAfter(failure.rawResponse?.headers?.get?.('retry-after'), now);
    const outcome = outcomeForStatus(
      failure.statusCode,
      `HTTP ${failure.statusCode}: ${message}`,
      retryAfter,
    );
    return { outcome, stop: `${what} answered ${failure.statusCode}`, status: failure.statusCode };
  }
  return {
    outcome: { kind: 'retry', error: message },
    stop: `${what} failed: ${message}`,
    status: null,
  };
}
