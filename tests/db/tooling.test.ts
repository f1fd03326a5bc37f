/**
 * The database tooling against real databases: advisors are clean (and do
 * catch a real problem), and the checked-in types match the schema.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advisorFindings } from '../../scripts/lib/advisors.ts';
import { generateDatabaseTypes } from '../../scripts/lib/codegen.ts';
import { databaseTypesFile } from '../../scripts/lib/project.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

describe('supabase db advisors', () => {
  it('finds nothing at warn level or above on the migrated schema', async () => {
    const findings = await advisorFindings(db.url);
    expect(findings.filter((finding) => finding.level !== 'INFO')).toEqual([]);
    // The service-only tables are reported, at INFO, as RLS without policies: that is the design.
    expect(findings).toContainEqual(
      expect.objectContaining({ name: 'rls_enabled_no_policy', level: 'INFO' }),
    );
  });

  it('sees the exposed schema, so a real hole is reported', async () => {
    const scratch = await createTestDatabase();
    try {
      await scratch.sql.unsafe(`
        create table public.open_notes (id int primary key);
        grant select on public.open_notes to anon;
        create view public.user_emails as select id, email from auth.users;
        grant select on public.user_emails to anon, authenticated;
      `);
      const errors = (await advisorFindings(scratch.url))
        .filter((finding) => finding.level === 'ERROR')
        .map((finding) => finding.name);
      expect(errors).toEqual(
        expect.arrayContaining(['rls_disabled_in_public', 'auth_users_exposed']),
      );
    } finally {
      await scratch.drop();
    }
  });
});

describe('database types', () => {
  it('are in sync with the migrations (run npm run db:types after a schema change)', async () => {
    const generated = await generateDatabaseTypes(db.url);
    expect(generated).toContain('langfuse_scores');
    expect(await readFile(databaseTypesFile, 'utf8')).toBe(generated);
  });
});
