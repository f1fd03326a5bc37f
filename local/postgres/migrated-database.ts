/**
 * A new database on a cluster, made as `npm run db:reset` makes one: the
 * platform bootstrap, then every migration through `supabase migration up`.
 * For the benchmark, `npm run chaos` and tests that need a server of their own.
 */
import { connect, escapeIdentifier } from '../tooling/connect.ts';
import { withDatabase } from '../tooling/database-url.ts';
import { bootstrapPlatform } from '../tooling/platform.ts';
import { migrateUp } from '../tooling/supabase-cli.ts';
import type { TestCluster } from './throwaway-cluster.ts';

/** Drops `name` if it exists, creates it, bootstraps and migrates it; returns its URL. */
export async function createMigratedDatabase(cluster: TestCluster, name: string): Promise<string> {
  const admin = connect(cluster.adminUrl);
  try {
    await admin.unsafe(`drop database if exists ${escapeIdentifier(name)} with (force)`);
    await admin.unsafe(`create database ${escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(cluster.adminUrl, name);
  const sql = connect(url);
  try {
    await bootstrapPlatform(sql);
  } finally {
    await sql.end();
  }
  await migrateUp(url);
  return url;
}
