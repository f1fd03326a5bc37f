/**
 * Classifies an SDK failure. Both official SDKs throw the same family of
 * errors (timeout, user abort, API error with a status, connection error); a
 * timeout is checked first because it is also a connection error.
 */
import { LlmError } from './types.ts';

interface SdkErrorClasses {
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
  APIError: abstract new (...args: never[]) => Error & { status?: number | undefined };
}

export function toLlmError(error: unknown, sdk: SdkErrorClasses, signal?: AbortSignal): LlmError {
  if (error instanceof LlmError) return error;
  if (error instanceof sdk.APIConnectionTimeoutError) return new LlmError('timeout', error.message);
  if (error instanceof sdk.APIUserAbortError || signal?.aborted) {
    return new LlmError('aborted', 'the request was aborted');
  }
  if (error instanceof sdk.APIError) {
    return new LlmError('upstream', error.message, (error as { status?: number }).status);
  }
  return new LlmError('upstream', error instanceof Error ? error.message : String(error));
}
