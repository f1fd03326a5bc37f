/**
 * GET /budget: the signed-in user's plan and, per window, its limit, what is
 * used and reserved, what remains and when the window resets. Read as the
 * user (asUser) from the security-invoker view my_budget, so RLS decides.
 * A valid token whose user does not exist is 401 USER_NOT_FOUND, as on every
 * function: the view alone would show such a user the default plan.
 */
import type { Sql } from 'postgres';
import type { Authenticator } from '../auth.ts';
import { asUser } from '../db/as-user.ts';
import { withinDeadline } from '../db/deadline.ts';
import { preflightResponse } from '../http/cors.ts';
import { errorResponse, jsonResponse, unknownUser } from '../http/errors.ts';
import { assertRoute } from '../http/route.ts';
import type { Logger } from '../log.ts';

interface BudgetRow {
  plan: string;
  window_kind: 'day' | 'month';
  window_start: string;
  measure: 'tokens' | 'cost_usd';
  limit_value: string | null;
  used: string;
  reserved: string;
  remaining: string | null;
  resets_at: Date;
}

export interface BudgetAnswerBody {
  plan: string | null;
  windows: {
    window: 'day' | 'month';
    start: string;
    measure: 'tokens' | 'cost_usd';
    limit: number | null;
    used: number;
    reserved: number;
    remaining: number | null;
    resetsAt: string;
  }[];
}

const num = (value: string | null) => (value === null ? null : Number(value));

export function createBudgetHandler(deps: {
  sql: Sql;
  auth: Authenticator;
  log: Logger;
  config: { dbTimeoutMs: number };
}) {
  return async (req: Request): Promise<Response> => {
    try {
      if (req.method === 'OPTIONS') return preflightResponse();
      assertRoute(req, 'budget', ['GET']);
      const user = await deps.auth.user(req);
      // Both at once (each on a connection of its own): users cannot read auth.users.
      const [[known], rows] = await Promise.all([
        withinDeadline(
          deps.sql,
          () => deps.sql<{ exists: boolean }[]>`
            select exists (select 1 from auth.users u where u.id = ${user.userId}) as exists
          `,
          deps.config.dbTimeoutMs,
          'budget user',
        ),
        withinDeadline(
          deps.sql,
          () =>
            asUser(
              deps.sql,
              user.claims,
              (tx) => tx<BudgetRow[]>`
                select plan, window_kind, window_start::text as window_start, measure,
                  limit_value::text, used::text, reserved::text, remaining::text, resets_at
                from public.my_budget
                order by window_kind, measure
              `,
              deps.config.dbTimeoutMs,
            ),
          deps.config.dbTimeoutMs,
          'budget',
        ),
      ]);
      if (!known?.exists) throw unknownUser();
      const body: BudgetAnswerBody = {
        plan: rows[0]?.plan ?? null,
        windows: rows.map((row) => ({
          window: row.window_kind,
          start: row.window_start,
          measure: row.measure,
          limit: num(row.limit_value),
          used: Number(row.used),
          reserved: Number(row.reserved),
          remaining: num(row.remaining),
          resetsAt: row.resets_at.toISOString(),
        })),
      };
      return jsonResponse(body, 200, { 'cache-control': 'no-store' });
    } catch (error) {
      return errorResponse(error, deps.log);
    }
  };
}
