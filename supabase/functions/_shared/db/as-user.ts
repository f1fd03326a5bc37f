/**
 * Runs queries the way PostgREST runs a request: inside one transaction,
 * switched to the request's API role, with its JWT claims in
 * `request.jwt.claims`, so RLS policies and `auth.uid()` see that user.
 *
 * Role and claims go in as bind parameters of set_config() (the parameterised
 * form of `set local`), never spliced into SQL text. So does the transaction's
 * statement_timeout, when given: the server ends a statement that runs past it
 * even through a transaction pooler, where startup parameters may not apply.
 */
import type { Sql, TransactionSql } from 'postgres';

/** The API roles a verified JWT may carry. Anything else is refused, not switched to. */
export const API_ROLES = ['anon', 'authenticated', 'service_role'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** The claims of a verified Supabase JWT that the database reads. */
export interface JwtClaims {
  role: ApiRole;
  /** The user id, for `authenticated`; absent for `anon`. */
  sub?: string;
  [claim: string]: unknown;
}

export class InvalidRoleError extends Error {
  constructor(role: unknown) {
    super(`refusing to switch to role ${JSON.stringify(role)}: not an API role`);
    this.name = 'InvalidRoleError';
  }
}

function isApiRole(role: unknown): role is ApiRole {
  return (API_ROLES as readonly unknown[]).includes(role);
}

/**
 * Runs `work` as the user the claims describe. Everything `work` does is one
 * transaction, and the role and claims end with it, so a pooled connection
 * goes back to the pool as it came.
 */
export async function asUser<T>(
  sql: Sql,
  claims: JwtClaims,
  work: (tx: TransactionSql) => Promise<T>,
  statementTimeoutMs?: number,
): Promise<T> {
  if (!isApiRole(claims.role)) throw new InvalidRoleError(claims.role);
  const result = await sql.begin(async (tx) => {
    await tx`
      select
        set_config('role', ${claims.role}, true),
        set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)
        ${statementTimeoutMs ? tx`, set_config('statement_timeout', ${String(statementTimeoutMs)}, true)` : tx``}
    `;
    return work(tx);
  });
  return result as T;
}
