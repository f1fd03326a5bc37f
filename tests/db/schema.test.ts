/**
 * Seed 004's verification checklist, read from the catalog. The expected
 * schema is the seed's own SQL (tests/fixtures), built in a scratch schema of
 * the same database, so "exactly the seed's" is checked against the seed
 * itself rather than against a transcription of it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../local/tooling/project.ts';
import { describeTable, listPolicies, type TableInfo } from '../support/catalog.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const CORE_TABLES = [
  'langfuse_traces',
  'langfuse_scores',
  'langfuse_batch_runs',
  'rate_limit_logs',
] as const;
const LINKED_TABLES = ['ai_coach_messages', 'encouragement_messages', 'reflections'] as const;
const APP_TABLES = [...LINKED_TABLES, 'ai_coach_conversations', 'daily_statuses'] as const;
const SETTINGS_TABLES = ['usage_daily_users', 'user_settings', 'user_time_zone_periods'] as const;
const REFERENCE_TABLES = ['time_zones'] as const;
const BUDGET_TABLES = ['budget_usage', 'plans'] as const;
const ROLLUP_TABLES = ['usage_daily'] as const;

let db: TestDatabase;
const ours = new Map<string, TableInfo>();
const seed = new Map<string, TableInfo>();

async function fixture(name: string): Promise<string> {
  return readFile(join(projectRoot, 'tests', 'fixtures', name), 'utf8');
}

beforeAll(async () => {
  db = await createTestDatabase();
  // The seed's SQL is unqualified: run it with a scratch schema first on the path.
  // Its migration 2 alters app tables, so stand-ins for those exist there too.
  await db.sql.begin(async (tx) => {
    await tx.unsafe('create schema seed_spec; set local search_path = seed_spec, public');
    await tx.unsafe(await fixture('seed-004-migration-1.sql'));
    for (const table of LINKED_TABLES)
      await tx.unsafe(`create table ${table} (id uuid primary key)`);
    await tx.unsafe(await fixture('seed-004-migration-2.sql'));
  });
  for (const table of [...CORE_TABLES, ...LINKED_TABLES]) {
    ours.set(table, await describeTable(db.sql, 'public', table));
    seed.set(table, await describeTable(db.sql, 'seed_spec', table));
  }
});

afterAll(() => db?.drop());

function table(map: Map<string, TableInfo>, name: string): TableInfo {
  const info = map.get(name);
  if (!info) throw new Error(`${name} was not described`);
  return info;
}

describe("seed 004's verification checklist", () => {
  // Items 1 to 4: each core table exists with exactly the seed's columns and CHECKs.
  it.each(CORE_TABLES)(
    '%s is created with the seed columns, types, defaults and CHECKs',
    (name) => {
      const actual = table(ours, name);
      const expected = table(seed, name);
      expect(Object.keys(expected.columns).length).toBeGreaterThan(0);
      // Later migrations may add columns, never change the seed's.
      for (const [column, info] of Object.entries(expected.columns)) {
        expect(actual.columns[column], `${name}.${column}`).toEqual(info);
      }
      expect(Object.keys(actual.columns).slice(0, Object.keys(expected.columns).length)).toEqual(
        Object.keys(expected.columns),
      );
      expect(actual.checks).toEqual(expect.arrayContaining(expected.checks));
      expect(actual.primaryKey).toBe(expected.primaryKey);
      expect(actual.uniques).toEqual(expected.uniques);
    },
  );

  // Item 5.
  it.each(LINKED_TABLES)('%s has langfuse_trace_id as the seed adds it', (name) => {
    const actual = table(ours, name);
    const expected = table(seed, name);
    expect(actual.columns.langfuse_trace_id).toEqual(expected.columns.langfuse_trace_id);
    expect(actual.columns.langfuse_trace_id).toEqual({
      type: 'uuid',
      notNull: false,
      default: null,
    });
    expect(actual.foreignKeys).toEqual(expect.arrayContaining(expected.foreignKeys));
    expect(actual.foreignKeys).toContain(
      'FOREIGN KEY (langfuse_trace_id) REFERENCES langfuse_traces(trace_id) ON DELETE SET NULL',
    );
    const indexName = `idx_${name}_langfuse_trace_id`;
    expect(actual.indexes[indexName]).toBe(expected.indexes[indexName]);
  });

  // Item 6.
  it('has the RLS policies, written to Supabase guidance and with the insert hole closed', async () => {
    expect(await listPolicies(db.sql, 'langfuse_traces')).toEqual([
      {
        name: 'Users can view their own traces',
        command: 'SELECT',
        roles: ['authenticated'],
        permissive: true,
        using: '(( SELECT auth.uid() AS uid) = user_id)',
        withCheck: null,
      },
    ]);
    const scorePolicies = await listPolicies(db.sql, 'langfuse_scores');
    // The seed's two, plus the later one that lets users change their feedback.
    expect(scorePolicies.map((p) => [p.name, p.command, p.roles])).toEqual([
      ['Users can insert scores for their traces', 'INSERT', ['authenticated']],
      ['Users can update their feedback on their traces', 'UPDATE', ['authenticated']],
      ['Users can view scores for their traces', 'SELECT', ['authenticated']],
    ]);
    const [insert, update, select] = scorePolicies;
    expect(update?.using).toContain("score_name = 'user_feedback'::text");
    expect(select?.using).toContain('langfuse_traces.user_id = ( SELECT auth.uid() AS uid)');
    expect(insert?.withCheck).toContain("score_name = 'user_feedback'::text");
    expect(insert?.withCheck).toContain("status = 'pending'::text");
    expect(insert?.withCheck).toContain('sent_at IS NULL');
    expect(insert?.withCheck).toContain('langfuse_traces.user_id = ( SELECT auth.uid() AS uid)');
    // Service-only tables: RLS on, no policy at all.
    expect(await listPolicies(db.sql, 'langfuse_batch_runs')).toEqual([]);
    expect(await listPolicies(db.sql, 'rate_limit_logs')).toEqual([]);
  });

  it('has RLS enabled on every table in public', async () => {
    const rows = await db.sql<{ relname: string; relrowsecurity: boolean }[]>`
      select relname, relrowsecurity from pg_catalog.pg_class
      where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname
    `;
    expect(rows.map((row) => row.relname)).toEqual(
      [
        ...CORE_TABLES,
        ...APP_TABLES,
        ...SETTINGS_TABLES,
        ...ROLLUP_TABLES,
        ...BUDGET_TABLES,
        ...REFERENCE_TABLES,
      ]
        .slice()
        .sort(),
    );
    expect(rows.filter((row) => !row.relrowsecurity)).toEqual([]);
  });

  // Item 7.
  it.each(CORE_TABLES)('%s has exactly the seed indexes', (name) => {
    const expected = table(seed, name).indexes;
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    expect(table(ours, name).indexes).toMatchObject(expected);
  });

  // Item 8.
  it.each(CORE_TABLES)('%s has the seed foreign keys with their ON DELETE actions', (name) => {
    expect(table(ours, name).foreignKeys).toEqual(table(seed, name).foreignKeys);
  });

  it('cascades from users and traces as the seed orders', () => {
    expect(table(ours, 'langfuse_traces').foreignKeys).toEqual([
      'FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE',
    ]);
    expect(table(ours, 'langfuse_scores').foreignKeys).toEqual([
      'FOREIGN KEY (trace_id) REFERENCES langfuse_traces(trace_id) ON DELETE CASCADE',
    ]);
    expect(table(ours, 'rate_limit_logs').foreignKeys).toEqual([
      'FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE',
    ]);
    expect(table(ours, 'langfuse_batch_runs').foreignKeys).toEqual([]);
  });
});

describe('indexes behind every policy filter', () => {
  it.each([...APP_TABLES, ...SETTINGS_TABLES])('%s has an index led by user_id', async (name) => {
    const info = await describeTable(db.sql, 'public', name);
    const definitions = Object.values(info.indexes);
    expect(definitions.some((definition) => /USING btree \(user_id[,)]/.test(definition))).toBe(
      true,
    );
  });
});
