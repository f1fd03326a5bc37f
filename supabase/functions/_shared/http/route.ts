/**
 * Routing for a function that serves one path. Supabase hands a function
 * `/<name>/...` (and `supabase functions serve` / our local server keep the
 * `/functions/v1` prefix in front), so the path after the function's own name
 * decides: nothing or `/` is the function, anything else is 404.
 */
import { HttpError } from './errors.ts';

export function assertRoute(req: Request, functionName: string, methods: readonly string[]): void {
  const path = new URL(req.url).pathname;
  const marker = `/${functionName}`;
  const at = path.indexOf(marker);
  const rest = at === -1 ? null : path.slice(at + marker.length);
  if (rest === null || (rest !== '' && rest !== '/')) {
    throw new HttpError(404, 'not_found', `No route ${path}.`);
  }
  if (!methods.includes(req.method)) {
    throw new HttpError(
      405,
      'method_not_allowed',
      `${req.method} is not allowed here; use ${methods.join(' or ')}.`,
      {
        headers: { allow: [...methods, 'OPTIONS'].join(', ') },
      },
    );
  }
}

/** Postgres or network failures that mean "try again later", not "you sent something wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01',
  '57P03',
  '53300',
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
