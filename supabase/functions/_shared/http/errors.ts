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
  | 'request_timeout'
  | 'client_closed_request'
  | 'rate_limited'
  | 'budget_exceeded'
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
 * The response for any thrown value, for every function: an HttpError answers
 * as itself; a token whose user was deleted is 401; a database or network
 * outage is 503 with Retry-After; anything else is a bug, logged and answered
 * as a bare 500 that leaks nothing.
 */
export function errorResponse(
  thrown: unknown,
  log: (entry: Record<string, unknown>) => void,
): Response {
  let error = thrown;
  if (error instanceof HttpError && error.code === 'client_closed_request') {
    // Nobody is left to read the answer: worth a line, not an alarm.
    log({ level: 'info', msg: 'client closed the request', error: error.message });
    return jsonResponse({ error: { code: error.code, message: error.message } }, error.status);
  }
  if (!(error instanceof HttpError) && isUnknownUser(error)) error = unknownUser();
  if (!(error instanceof HttpError) && isUnavailable(error)) {
    log({ level: 'error', msg: 'dependency unavailable', error: describeError(thrown) });
    error = serviceUnavailable('A backing service is unavailable. Please try again shortly.');
  }
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

/** Postgres or network failures that mean "try again later", not "you sent something wrong". */
const UNAVAILABLE_CODES = new Set([
  // our deadline (db/deadline.ts); the server's statement_timeout or a cancel
  'DB_TIMEOUT',
  '57014',
  // the network and postgres.js' connection states
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  // Postgres shutting down, crashed, starting, out of connections; connection exceptions
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNAVAILABLE_CODES.has(code);
}

export function serviceUnavailable(message: string): HttpError {
  return new HttpError(503, 'service_unavailable', message, { headers: { 'retry-after': '5' } });
}

/**
 * A valid token whose user no longer exists (deleted after the token was
 * issued): the foreign key to auth.users refuses the row. That is the
 * caller's problem (401), not ours.
 */
export function isUnknownUser(error: unknown): boolean {
  const failure = error as { code?: unknown; constraint_name?: unknown } | null;
  return (
    failure?.code === '23503' && String(failure.constraint_name ?? '').endsWith('user_id_fkey')
  );
}

export function unknownUser(): HttpError {
  return new HttpError(401, 'unauthorized', 'The user of this token no longer exists.', {
    details: { reason: 'USER_NOT_FOUND' },
  });
}
