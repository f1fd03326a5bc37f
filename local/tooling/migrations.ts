/**
 * Migrations and their rollbacks. Applying is the Supabase CLI's job
 * (`migrateUp`); this module knows the files and rolls back, newest first,
 * keeping the CLI's history table (supabase_migrations.schema_migrations) true.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Sql } from 'postgres';
import { migrationsDir, rollbacksDir } from './project.ts';
import { executeSqlFile } from './sql-file.ts';
import { StepError } from './step.ts';

export interface MigrationFile {
  version: string;
  name: string;
  file: string;
  rollbackFile: string;
}

const MIGRATION_NAME = /^(\d+)_(.+)\.sql$/;

/** Local migrations in the order the CLI applies them. */
export function listMigrations(): MigrationFile[] {
  return readdirSync(migrationsDir)
    .map((entry) => MIGRATION_NAME.exec(entry))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([entry, version, name]) => ({
      version: version as string,
      name: name as string,
      file: join(migrationsDir, entry),
      rollbackFile: join(rollbacksDir, `${version}_${name}.down.sql`),
    }))
    .sort((a, b) => a.version.localeCompare(b.version));
}

/** Versions recorded as applied, oldest first; empty before the first `migration up`. */
export async function appliedVersions(sql: Sql): Promise<string[]> {
  const [history] = await sql<{ exists: boolean }[]>`
    select to_regclass('supabase_migrations.schema_migrations') is not null as exists
  `;
  if (!history?.exists) return [];
  const rows = await sql<{ version: string }[]>`
    select version from supabase_migrations.schema_migrations order by version
  `;
  return rows.map((row) => row.version);
}

/**
 * Rolls back the newest `steps` applied migrations (all when steps is
 * Infinity). Each down script and its history row go in one transaction, so a
 * failure leaves the database at a known version.
 */
export async function rollbackMigrations(sql: Sql, steps: number): Promise<MigrationFile[]> {
  const byVersion = new Map(listMigrations().map((migration) => [migration.version, migration]));
  const toUndo = (await appliedVersions(sql)).reverse().slice(0, steps);
  const undone: MigrationFile[] = [];
  for (const version of toUndo) {
    const migration = byVersion.get(version);
    if (!migration) {
      throw new StepError(
        'rollback',
        `version ${version} is applied but has no local migration file`,
      );
    }
    if (!existsSync(migration.rollbackFile)) {
      throw new StepError('rollback', 'no rollback script for this migration', {
        file: migration.rollbackFile,
      });
    }
    await sql.begin(async (tx) => {
      await executeSqlFile(tx, `rollback ${version}`, migration.rollbackFile);
      await tx`delete from supabase_migrations.schema_migrations where version = ${version}`;
    });
    undone.push(migration);
  }
  return undone;
}
