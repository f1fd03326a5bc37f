/**
 * GET /health, no auth: is the function up, and can it reach Postgres? The
 * database check ends by the same deadline as every request's (DB_TIMEOUT_MS),
 * so a stopped or frozen database reads `db: error` within that bound.
 *
 * Anyone may call it, so it must not be a way to load the database: requests
 * share one check at a time, and its result for a second (CHECK_REUSE_MS);
 * the deployed function gives it a pool of one connection.
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

/** How long one database check answers every health request. */
export const CHECK_REUSE_MS = 1000;

export function createHealthHandler(deps: {
  sql: Sql;
  clock: Clock;
  log: Logger;
  config?: { dbTimeoutMs: number };
}) {
  const timeoutMs = deps.config?.dbTimeoutMs ?? 3000;
  let check: { result: Promise<'ok' | 'error'>; at: number } | null = null;
  const database = (): Promise<'ok' | 'error'> => {
    const now = performance.now();
    if (check && now - check.at < CHECK_REUSE_MS) return check.result;
    const result = withinDeadline(deps.sql, () => deps.sql`select 1`, timeoutMs, 'health').then(
      () => 'ok' as const,
      () => 'error' as const,
    );
    // Reused while it runs, and for a second after it ended.
    check = { result, at: Number.POSITIVE_INFINITY };
    void result.then(() => {
      if (check?.result === result) check.at = performance.now();
    });
    return result;
  };
  return async (req: Request): Promise<Response> => {
    try {
      if (req.method === 'OPTIONS') return preflightResponse();
      assertRoute(req, 'health', ['GET', 'HEAD']);
      const db = await database();
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
