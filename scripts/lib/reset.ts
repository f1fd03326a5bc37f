/**
 * `npm run db:reset`: a database with exactly the platform, every migration
 * and the seed. `supabase db reset --remote` drops the `auth` schema, so the
 * project resets its own way:
 *
 *  - plain Postgres (embedded, CI, any DATABASE_URL without Supabase): drop and
 *    recreate the database, then bootstrap the platform;
 *  - a Supabase database (`supabase start`): the platform must stay, so drop
 *    only what migrations own (the public schema and the migration history).
 *    auth.users rows survive; rows that referenced them go with public.
 *
 * Then `supabase migration up` and supabase/seed.sql.
 */
import { existsSync } from 'node:fs';
import type { Sql } from 'postgres';
import { connect, escapeIdentifier } from '../../local/tooling/connect.ts';
import {
  databaseName,
  isLocalDatabaseUrl,
  redactUrl,
  withDatabase,
} from '../../local/tooling/database-url.ts';
import { bootstrapPlatform, detectPlatform } from '../../local/tooling/platform.ts';
import { bootstrapFile, seedFile } from '../../local/tooling/project.ts';
import { runSqlFile } from '../../local/tooling/sql-file.ts';
import { StepError, sqlStepError } from '../../local/tooling/step.ts';
import { migrateUp } from '../../local/tooling/supabase-cli.ts';

export interface ResetOptions {
  /** Allow a database that is not on this machine. */
  force?: boolean;
  seed?: boolean;
  log?: (line: string) => void;
}

async function withConnection<T>(url: string, use: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = connect(url);
  try {
    return await use(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Drops and creates the database of `url`, from another database of the same server. */
export async function recreateDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  const maintenance = withDatabase(url, name === 'postgres' ? 'template1' : 'postgres');
  await withConnection(maintenance, async (sql) => {
    await sql.unsafe(`drop database if exists ${escapeIdentifier(name)} with (force)`);
    await sql.unsafe(`create database ${escapeIdentifier(name)}`);
  });
}

/** What a reset removes from a Supabase database: the schemas migrations own. */
async function dropMigrationOwnedSchemas(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx.unsafe(`
      drop schema if exists supabase_migrations cascade;
      drop schema public cascade;
      create schema public authorization pg_database_owner;
      grant usage on schema public to postgres, anon, authenticated, service_role;
    `);
  });
}

async function databaseExists(url: string): Promise<boolean> {
  const name = databaseName(url);
  const maintenance = withDatabase(url, name === 'postgres' ? 'template1' : 'postgres');
  return withConnection(maintenance, async (sql) => {
    const rows = await sql`select 1 from pg_catalog.pg_database where datname = ${name}`;
    return rows.length > 0;
  });
}

/** Runs one step; a failure that is not already a StepError becomes one named after the step. */
async function step<T>(name: string, file: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw sqlStepError(name, file ?? '', '', error);
  }
}

export async function resetDatabase(url: string, options: ResetOptions = {}): Promise<void> {
  const log = options.log ?? (() => {});
  if (!isLocalDatabaseUrl(url) && !options.force) {
    throw new StepError(
      'check target',
      `refusing to reset ${redactUrl(url)}: it is not on this machine (127.0.0.1, localhost or a socket).`,
      { detail: 'A reset deletes every row. Pass --force if you really mean that database.' },
    );
  }

  const platform = await step('inspect target', undefined, async () =>
    (await databaseExists(url)) ? withConnection(url, detectPlatform) : 'none',
  );
  if (platform === 'supabase') {
    await step('drop migration-owned schemas', undefined, () =>
      withConnection(url, dropMigrationOwnedSchemas),
    );
    log('✔ dropped public and supabase_migrations (Supabase platform kept)');
  } else {
    await step('recreate database', undefined, () => recreateDatabase(url));
    log(`✔ recreated database ${databaseName(url)}`);
    await step('platform bootstrap', bootstrapFile, () => withConnection(url, bootstrapPlatform));
    log('✔ platform bootstrap');
  }

  const output = await migrateUp(url);
  const applied = output.match(/Applying migration/g)?.length ?? 0;
  log(`✔ supabase migration up (${applied} applied)`);

  if (options.seed !== false && existsSync(seedFile)) {
    await step('seed', seedFile, () =>
      withConnection(url, (sql) => runSqlFile(sql, 'seed', seedFile)),
    );
    log('✔ seed.sql');
  }
}
