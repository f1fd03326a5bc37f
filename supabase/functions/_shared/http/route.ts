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
