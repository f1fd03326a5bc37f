/**
 * Vitest global setup: one Postgres server per run and one migrated template
 * database, built exactly as `npm run db:reset` builds a database (platform
 * bootstrap, then `supabase migration up`). Each test file clones the
 * template into a database of its own, so files run in parallel in isolation.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startTestCluster } from '../../local/postgres/throwaway-cluster.ts';
import { connect, escapeIdentifier } from '../../local/tooling/connect.ts';
import { withDatabase } from '../../local/tooling/database-url.ts';
import { bootstrapPlatform } from '../../local/tooling/platform.ts';
import { migrateUp } from '../../local/tooling/supabase-cli.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: { adminUrl: string; templateDatabase: string; runId: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startTestCluster();
  const runId = randomBytes(4).toString('hex');
  const templateDatabase = `test_${runId}_template`;
  const admin = connect(cluster.adminUrl);

  try {
    await admin.unsafe(`create database ${escapeIdentifier(templateDatabase)}`);
    const templateUrl = withDatabase(cluster.adminUrl, templateDatabase);
    const template = connect(templateUrl);
    try {
      await bootstrapPlatform(template);
    } finally {
      await template.end();
    }
    await migrateUp(templateUrl);
  } catch (error) {
    await admin.end();
    await cluster.stop();
    throw error;
  }

  project.provide('postgres', { adminUrl: cluster.adminUrl, templateDatabase, runId });

  return async () => {
    // Drop whatever this run created, even databases a crashed file left behind.
    const leftovers = await admin<{ datname: string }[]>`
      select datname from pg_catalog.pg_database where datname like ${`test_${runId}_%`}
    `;
    for (const { datname } of leftovers) {
      await admin.unsafe(`drop database if exists ${escapeIdentifier(datname)} with (force)`);
    }
    await admin.end();
    await cluster.stop();
  };
}
