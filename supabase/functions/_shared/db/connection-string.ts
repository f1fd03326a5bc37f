/**
 * Which database the functions connect to, and how.
 *
 * Hosted Supabase gives every function SUPABASE_DB_URL, the direct connection
 * (db.<ref>.supabase.co:5432): every pooled connection counts against the
 * database's max_connections (60 on Nano and Micro, shared with Auth,
 * PostgREST and Storage), and it is IPv6 only without the IPv4 add-on. Edge
 * Functions should go through the shared pooler in transaction mode (port
 * 6543) instead, and secret names starting with SUPABASE_ are reserved, so the
 * pooler's string comes in DATABASE_URL, which wins when set (Supabase's
 * "Connect to your database" guide; @supabase/server docs/postgres.md, "Which
 * connection string to use").
 *
 * Prepared statements survive only on a connection the client keeps: on the
 * direct connection and the pooler's session mode, not in transaction mode,
 * where each transaction may run on another server connection. So DB_PREPARE
 * `auto` (the default) turns them off for port 6543 and on otherwise.
 */

export type PrepareSetting = 'auto' | 'true' | 'false';

export interface ConnectionString {
  url: string;
  /** The pooler in transaction mode (port 6543): connections are shared per transaction. */
  transactionPooler: boolean;
  prepare: boolean;
}

/** The port of a postgres:// URL, 5432 when it names none. */
function portOf(url: string): number {
  try {
    return Number(new URL(url).port || 5432);
  } catch {
    return 5432;
  }
}

export function connectionString(
  env: { DATABASE_URL?: string | undefined; SUPABASE_DB_URL?: string | undefined },
  prepare: PrepareSetting,
): ConnectionString | null {
  const url = env.DATABASE_URL?.trim() || env.SUPABASE_DB_URL?.trim();
  if (!url) return null;
  const transactionPooler = portOf(url) === 6543;
  return {
    url,
    transactionPooler,
    prepare: prepare === 'auto' ? !transactionPooler : prepare === 'true',
  };
}
