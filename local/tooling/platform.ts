/**
 * The local platform bootstrap (local/platform/bootstrap.sql): makes a plain
 * Postgres look like a Supabase database. Skipped where `auth` already exists.
 */
import type { Sql } from 'postgres';
import { bootstrapFile } from './project.ts';
import { runSqlFile } from './sql-file.ts';

/** The comment the bootstrap puts on `auth`: it tells our platform from Supabase's. */
const BOOTSTRAP_MARKER = 'created by the local platform bootstrap';

export type Platform = 'none' | 'local-bootstrap' | 'supabase';

/** Which platform the connected database has. */
export async function detectPlatform(sql: Sql): Promise<Platform> {
  const [row] = await sql<{ comment: string | null }[]>`
    select obj_description(n.oid, 'pg_namespace') as comment
    from pg_catalog.pg_namespace n
    where n.nspname = 'auth'
  `;
  if (!row) return 'none';
  return row.comment?.includes(BOOTSTRAP_MARKER) ? 'local-bootstrap' : 'supabase';
}

/** Runs the bootstrap unless the database already has an `auth` schema. */
export async function bootstrapPlatform(sql: Sql): Promise<'bootstrapped' | 'skipped'> {
  if ((await detectPlatform(sql)) !== 'none') return 'skipped';
  await runSqlFile(sql, 'platform bootstrap', bootstrapFile);
  return 'bootstrapped';
}
