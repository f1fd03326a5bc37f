/**
 * GET /health, no auth: is the function up, and can it reach Postgres? The
 * database check ends by the same deadline as every request's (DB_TIMEOUT_MS),
 * so a stopped or frozen database reads `db: error` within that bound.
 */
import type { Sql } from 'postgres';
import type { Clock } from './coach/deps.ts';
import { withinDeadline } from './db/deadline.ts';
import { preflightResponse } from './http/cors.ts';
import { errorResponse, jsonResponse } from './http/errors.ts';
import { assertRoute } from './http/route.ts';
import type { Logger } from './log.ts';

export interface HealthBody {
  status: 'ok';
  db: 'ok' | 'error';
  time: string;
}

export function createHealthHandler(deps: {
  sql: Sql;
  clock: Clock;
  log: Logger;
  config?: { dbTimeoutMs: number };
}) {
  const timeoutMs = deps.config?.dbTimeoutMs ?? 3000;
  return async (req: Request): Promise<Response> => {
    try {
      if (req.method === 'OPTIONS') return preflightResponse();
      assertRoute(req, 'health', ['GET', 'HEAD']);
      const db = await withinDeadline(deps.sql, () => deps.sql`select 1`, timeoutMs, 'health').then(
        () => 'ok' as const,
        () => 'error' as const,
      );
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
