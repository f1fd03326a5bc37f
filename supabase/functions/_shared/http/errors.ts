/**
 * One typed error for every failure a function answers with: status, a stable
 * machine-readable code, a message, optional details and headers. It becomes
 * JSON in one place (`errorResponse`), so every error has the same shape:
 *
 *   { "error": { "code": "rate_limited", "message": "...", "details": {...} } }
 */
import { corsHeaders } from './cors.ts';

export type ErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'invalid_request'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'service_unavailable'
  | 'internal_error';

export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    options: { details?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...corsHeaders, 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/**
 * The response for any thrown value. An HttpError answers as itself; anything
 * else is a bug or an outage, logged here and answered as a bare 500 that
 * leaks nothing.
 */
export function errorResponse(
  error: unknown,
  log: (entry: Record<string, unknown>) => void,
): Response {
  if (error instanceof HttpError) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.details !== undefined) body.error.details = error.details;
    return jsonResponse(body, error.status, error.headers);
  }
  log({ level: 'error', msg: 'unhandled error', error: describeError(error) });
  return jsonResponse(
    {
      error: { code: 'internal_error', message: 'Something went wrong on our side.' },
    } satisfies ErrorBody,
    500,
  );
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
