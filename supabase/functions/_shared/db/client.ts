/**
 * The functions' Postgres client: postgres.js over SUPABASE_DB_URL. Prepared
 * statements are off so the same code works through Supavisor's transaction
 * pooler; one small pool per function instance.
 */
import postgres, { type Sql } from 'postgres';

export function createDatabase(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    prepare: false,
    max: options.max ?? 10,
    idle_timeout: 20,
    connect_timeout: 5,
    onnotice: () => {},
    connection: { application_name: 'ai-coach-functions' },
  });
}
