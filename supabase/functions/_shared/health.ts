/** GET /health, no auth: is the function up, and can it reach Postgres? */
import type { Sql } from 'postgres';
import type { Clock } from './coach/deps.ts';
import { preflightResponse } from './http/cors.ts';
import { errorResponse, jsonResponse } from './http/errors.ts';
import { assertRoute } from './http/route.ts';
import type { Logger } from './log.ts';

export interface HealthBody {
  status: 'ok';
  db: 'ok' | 'error';
  time: string;
}

const DB_CHECK_TIMEOUT_MS = 2000;

export function createHealthHandler(deps: { sql: Sql; clock: Clock; log: Logger }) {
  return async (req: Request): Promise<Response> => {
    try {
      if (req.method === 'OPTIONS') return preflightResponse();
      assertRoute(req, 'health', ['GET', 'HEAD']);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), DB_CHECK_TIMEOUT_MS);
      });
      const db = await Promise.race([deps.sql`select 1`, timeout]).then(
        () => 'ok' as const,
        () => 'error' as const,
      );
      clearTimeout(timer);
      return jsonResponse(
        { status: 'ok', db, time: deps.clock.now().toISOString() } satisfies HealthBody,
        200,
        {
          'cache-control': 'no-store',
        },
      );
    } catch (error) {
      return errorResponse(error, deps.log);
    }
  };
}
