/**
 * Classifies an SDK failure. Both official SDKs throw the same family of
 * errors (timeout, user abort, API error with a status and the response's
 * headers, connection error); a timeout is checked first because it is also a
 * connection error. The retry layer (retry.ts) decides from what is kept here.
 */
import { parseRetryAfterSeconds } from './retry-policy.ts';
import { LlmError } from './types.ts';

interface SdkErrorClasses {
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
  APIError: abstract new (
    ...args: never[]
  ) => Error & { status?: number | undefined; headers?: Headers | undefined };
}

export function toLlmError(error: unknown, sdk: SdkErrorClasses, signal?: AbortSignal): LlmError {
  if (error instanceof LlmError) return error;
  if (error instanceof sdk.APIConnectionTimeoutError) return new LlmError('timeout', error.message);
  if (error instanceof sdk.APIUserAbortError || signal?.aborted) {
    return new LlmError('aborted', 'the request was aborted');
  }
  if (error instanceof sdk.APIConnectionError) {
    return new LlmError('upstream', error.message, undefined, { connectionFailed: true });
  }
  if (error instanceof sdk.APIError) {
    const { status, headers } = error as { status?: number; headers?: Headers };
    return new LlmError('upstream', error.message, status, {
      retryAfterSeconds: parseRetryAfterSeconds(headers, Date.now()),
    });
  }
  // fetch rejects with a TypeError when the network fails, a stream's body included.
  if (error instanceof TypeError) {
    return new LlmError('upstream', error.message, undefined, { connectionFailed: true });
  }
  return new LlmError('upstream', error instanceof Error ? error.message : String(error));
}
