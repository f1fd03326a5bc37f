/**
 * Migrations and rollbacks: every migration has a down script, and applying
 * everything then rolling back in reverse order leaves exactly the catalog the
 * platform bootstrap made; applying again works.
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appliedVersions,
  listMigrations,
  rollbackMigrations,
} from '../../local/tooling/migrations.ts';
import { bootstrapPlatform, detectPlatform } from '../../local/tooling/platform.ts';
import { rollbacksDir } from '../../local/tooling/project.ts';
import { migrateUp } from '../../local/tooling/supabase-cli.ts';
import { catalogSnapshot } from '../support/catalog.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('empty');
});
afterAll(() => db?.drop());

describe('migration files', () => {
  it('pairs every migration with a rollback, and every rollback with a migration', () => {
    const migrations = listMigrations();
    expect(migrations.length).toBeGreaterThanOrEqual(5);
    for (const migration of migrations)
      expect(existsSync(migration.rollbackFile), migration.rollbackFile).toBe(true);
    const expected = migrations.map((m) => m.rollbackFile.split('/').at(-1)).sort();
    expect(readdirSync(rollbacksDir).sort()).toEqual(expected);
  });

  it('keeps the seed 004 file names and order', () => {
    const names = listMigrations().map((m) => `${m.version}_${m.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        '20251113000003_add_langfuse_core',
        '20251113000004_add_langfuse_denormalized_columns',
        '20251113000005_add_langfuse_rls_policies',
      ]),
    );
    expect(names.indexOf('20251113000003_add_langfuse_core')).toBeLessThan(
      names.indexOf('20251113000004_add_langfuse_denormalized_columns'),
    );
  });
});

describe('bootstrap, migrate, roll back, migrate', () => {
  it('returns to exactly the bootstrap-only catalog and applies again', async () => {
    expect(await detectPlatform(db.sql)).toBe('none');
    expect(await bootstrapPlatform(db.sql)).toBe('bootstrapped');
    expect(await detectPlatform(db.sql)).toBe('local-bootstrap');
    expect(await bootstrapPlatform(db.sql)).toBe('skipped');
    const bootstrapOnly = await catalogSnapshot(db.sql);

    await migrateUp(db.url);
    const versions = listMigrations().map((m) => m.version);
    expect(await appliedVersions(db.sql)).toEqual(versions);
    const migrated = await catalogSnapshot(db.sql);
    expect(migrated.relations?.length).toBeGreaterThan(bootstrapOnly.relations?.length ?? 0);

    const undone = await rollbackMigrations(db.sql, Number.POSITIVE_INFINITY);
    expect(undone.map((m) => m.version)).toEqual([...versions].reverse());
    expect(await appliedVersions(db.sql)).toEqual([]);
    expect(await catalogSnapshot(db.sql)).toEqual(bootstrapOnly);

    await migrateUp(db.url);
    expect(await appliedVersions(db.sql)).toEqual(versions);
    expect(await catalogSnapshot(db.sql)).toEqual(migrated);
  });

  it('rolls back one migration at a time, newest first', async () => {
    const versions = listMigrations().map((m) => m.version);
    await migrateUp(db.url);
    const [undone] = await rollbackMigrations(db.sql, 1);
    expect(undone?.version).toBe(versions.at(-1));
    expect(await appliedVersions(db.sql)).toEqual(versions.slice(0, -1));
    await migrateUp(db.url);
    expect(await appliedVersions(db.sql)).toEqual(versions);
  });
});
