/**
 * The functions' Postgres client: postgres.js over SUPABASE_DB_URL. Prepared
 * statements are off by default so the same code works through Supavisor's
 * transaction pooler, where Edge Functions should connect. The price: without
 * them postgres.js describes every parameterised statement first, a second
 * round trip per query. On a direct or session-mode connection, DB_PREPARE=true
 * saves it. One small pool per function instance.
 */
import postgres, { type Sql } from 'postgres';

export function createDatabase(
  url: string,
  options: { max?: number; prepare?: boolean } = {},
): Sql {
  return postgres(url, {
    prepare: options.prepare ?? false,
    max: options.max ?? 10,
    idle_timeout: 20,
    connect_timeout: 5,
    onnotice: () => {},
    connection: { application_name: 'ai-coach-functions' },
  });
}
