/**
 * Our retries and one deadline for the whole LLM call, around any provider
 * (the SDKs' own retries are off). The deadline starts when the pipeline
 * starts the call and bounds every attempt, every wait between attempts and a
 * stream to its last event; each attempt's timeout is min(LLM_TIMEOUT_MS, the
 * time left). What to retry and how long to wait is retry-policy.ts's.
 *
 * The caller's abort (request.signal: the client went away) ends everything at
 * once as `aborted`; the deadline ends it as `timeout`. A stream is retried
 * only before its first text delta: once the user has seen text, a failure is
 * final.
 */
import { retryDecision } from './retry-policy.ts';
import {
  LlmError,
  type LlmProvider,
  type LlmRequest,
  type LlmResult,
  type LlmStreamEvent,
} from './types.ts';

export interface RetryOptions {
  /** LLM_TIMEOUT_MS: one attempt at most. */
  timeoutMs: number;
  /** LLM_DEADLINE_MS: the whole call. */
  deadlineMs: number;
  /** LLM_MAX_RETRIES: attempts after the first. */
  maxRetries: number;
  /** The jitter's draws, in [0, 1); Math.random unless a test pins it. */
  random?: () => number;
}

/** One call's deadline, as a time left and as an abort signal merged with the caller's. */
interface CallDeadline {
  /** Aborts at the deadline or when the caller aborts. */
  signal: AbortSignal;
  msLeft(): number;
  passed(): boolean;
  clear(): void;
}

function startDeadline(deadlineMs: number, callerSignal: AbortSignal | undefined): CallDeadline {
  const endsAt = performance.now() + deadlineMs;
  // One controller for both causes, with a listener on the caller's signal:
  // cheaper per call than AbortSignal.any, whose dependent signal is tracked
  // through weak references until it is collected.
  const ended = new AbortController();
  let passed = false;
  const timer = setTimeout(() => {
    passed = true;
    ended.abort();
  }, deadlineMs);
  const onCallerAbort = () => ended.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: ended.signal,
    msLeft: () => endsAt - performance.now(),
    passed: () => passed,
    clear: () => {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

/** Waits, unless the signal aborts first (then rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function withRetries(provider: LlmProvider, options: RetryOptions): LlmProvider {
  const random = options.random ?? Math.random;

  /** What an attempt's failure means: the caller's abort and the deadline come first. */
  function classify(error: unknown, request: LlmRequest, deadline: CallDeadline): LlmError {
    if (request.signal?.aborted) return new LlmError('aborted', 'the request was aborted');
    if (deadline.passed()) {
      return new LlmError('timeout', `no answer within LLM_DEADLINE_MS (${options.deadlineMs} ms)`);
    }
    if (error instanceof LlmError) return error;
    return new LlmError('upstream', error instanceof Error ? error.message : String(error));
  }

  function attemptRequest(request: LlmRequest, deadline: CallDeadline): LlmRequest {
    const timeoutMs = Math.min(options.timeoutMs, Math.ceil(deadline.msLeft()));
    return { ...request, signal: deadline.signal, timeoutMs: Math.max(1, timeoutMs) };
  }

  /** The call's last error, saying how many requests it made. */
  function finalError(failure: LlmError, attempts: number, kind = failure.kind): LlmError {
    const message = attempts > 1 ? `${failure.message} (${attempts} attempts)` : failure.message;
    return new LlmError(kind, message, failure.status, {
      retryAfterSeconds: failure.retryAfterSeconds,
      connectionFailed: failure.connectionFailed,
      attempts,
    });
  }

  /** Waits before the next attempt, or throws the call's final error. */
  async function afterFailure(
    failure: LlmError,
    attempts: number,
    request: LlmRequest,
    deadline: CallDeadline,
  ): Promise<void> {
    const decision = retryDecision({
      failure,
      attempts,
      maxRetries: options.maxRetries,
      msLeft: deadline.msLeft(),
      random: random(),
    });
    if (decision.action === 'unavailable') throw finalError(failure, attempts, 'unavailable');
    if (decision.action === 'give-up') throw finalError(failure, attempts);
    try {
      await sleep(decision.delayMs, deadline.signal);
    } catch (error) {
      throw finalError(classify(error, request, deadline), attempts);
    }
  }

  return {
    name: provider.name,

    async complete(request: LlmRequest): Promise<LlmResult> {
      const deadline = startDeadline(options.deadlineMs, request.signal);
      try {
        for (let attempts = 1; ; attempts += 1) {
          try {
            return await provider.complete(attemptRequest(request, deadline));
          } catch (error) {
            await afterFailure(classify(error, request, deadline), attempts, request, deadline);
          }
        }
      } finally {
        deadline.clear();
      }
    },

    async *stream(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
      const deadline = startDeadline(options.deadlineMs, request.signal);
      try {
        for (let attempts = 1; ; attempts += 1) {
          let textSent = false;
          try {
            for await (const event of provider.stream(attemptRequest(request, deadline))) {
              if (event.type === 'delta') textSent = true;
              yield event;
            }
            return;
          } catch (error) {
            const failure = classify(error, request, deadline);
            if (textSent) throw finalError(failure, attempts);
            await afterFailure(failure, attempts, request, deadline);
          }
        }
      } finally {
        deadline.clear();
      }
    },
  };
}
