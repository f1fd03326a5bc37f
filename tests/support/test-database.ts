/**
 * A database of its own for each test file, on the run's server (see
 * global-setup.ts): `migrated` is a clone of the migrated template, `empty`
 * is a bare database, as a fresh server would have.
 */
import { randomBytes } from 'node:crypto';
import type { Sql } from 'postgres';
import postgres from 'postgres';
import { inject } from 'vitest';
import { connect, escapeIdentifier } from '../../local/tooling/connect.ts';
import { withDatabase } from '../../local/tooling/database-url.ts';

export interface TestDatabase {
  name: string;
  url: string;
  /** A pooled client as the server's superuser (postgres), like an Edge Function's connection. */
  sql: Sql;
  drop(): Promise<void>;
}

/**
 * CREATE DATABASE ... TEMPLATE copies objects but not ALTER DATABASE settings
 * (pgrst.db_schemas, search_path), so they are copied here. search_path is a
 * list setting and must stay unquoted; every other value is a string literal.
 */
async function copyDatabaseSettings(admin: Sql, from: string, to: string): Promise<void> {
  const rows = await admin<{ setting: string }[]>`
    select unnest(s.setconfig) as setting
    from pg_catalog.pg_db_role_setting s
    join pg_catalog.pg_database d on d.oid = s.setdatabase
    where d.datname = ${from} and s.setrole = 0
  `;
  for (const { setting } of rows) {
    const separator = setting.indexOf('=');
    const key = setting.slice(0, separator);
    const value = setting.slice(separator + 1);
    const literal = key === 'search_path' ? value : `'${value.replaceAll("'", "''")}'`;
    await admin.unsafe(`alter database ${escapeIdentifier(to)} set ${key} = ${literal}`);
  }
}

export async function createTestDatabase(
  kind: 'migrated' | 'empty' = 'migrated',
): Promise<TestDatabase> {
  const { adminUrl, templateDatabase, runId } = inject('postgres');
  const name = `test_${runId}_${randomBytes(6).toString('hex')}`;
  const admin = connect(adminUrl);
  try {
    if (kind === 'migrated') {
      await admin.unsafe(
        `create database ${escapeIdentifier(name)} template ${escapeIdentifier(templateDatabase)}`,
      );
      await copyDatabaseSettings(admin, templateDatabase, name);
    } else {
      await admin.unsafe(`create database ${escapeIdentifier(name)}`);
    }
  } finally {
    await admin.end();
  }

  const url = withDatabase(adminUrl, name);
  const sql = postgres(url, { max: 10, prepare: false, onnotice: () => {} });
  return {
    name,
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const dropper = connect(adminUrl);
      try {
        await dropper.unsafe(`drop database if exists ${escapeIdentifier(name)} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
