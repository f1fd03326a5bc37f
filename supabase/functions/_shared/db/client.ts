/**
 * The functions' Postgres client: postgres.js over SUPABASE_DB_URL. Prepared
 * statements are off by default so the same code works through Supavisor's
 * transaction pooler, where Edge Functions should connect. The price: without
 * them postgres.js describes every parameterised statement first, a second
 * round trip per query. On a direct or session-mode connection, DB_PREPARE=true
 * saves it. One small pool per function instance.
 *
 * Bounded waits (see deadline.ts for the per-statement deadline and the
 * bounded wait for a connection, which is ours rather than postgres.js'):
 *  - connecting gives up after the deadline (connect_timeout);
 *  - the server ends a statement or an idle transaction that runs past it
 *    (statement_timeout and idle_in_transaction_session_timeout, sent as
 *    startup parameters; through the transaction pooler only the client-side
 *    deadline applies);
 *  - after an outage, a connection tries again within a second, not after
 *    postgres.js' default backoff of up to 20 s, so the pool recovers as soon
 *    as Postgres is back.
 */
import postgres, { type Sql } from 'postgres';
import { gatePool } from './deadline.ts';

export interface DatabaseOptions {
  max?: number;
  prepare?: boolean;
  /** DB_TIMEOUT_MS: the longest any one wait may take. */
  timeoutMs?: number;
}

export function createDatabase(url: string, options: DatabaseOptions = {}): Sql {
  const timeoutMs = options.timeoutMs ?? 3000;
  const max = options.max ?? 10;
  const sql = postgres(url, {
    prepare: options.prepare ?? false,
    max,
    idle_timeout: 20,
    connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    connection: {
      application_name: 'ai-coach-functions',
      statement_timeout: timeoutMs,
      idle_in_transaction_session_timeout: timeoutMs * 2,
    },
  });
  // Waits for a connection are ours, bounded (deadline.ts).
  gatePool(sql, max);
  return sql;
}
