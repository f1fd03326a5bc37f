/**
 * `npm run db:reset` and its failure reporting, run as users run them: the
 * script as a subprocess, against a database of the test server.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type postgres from 'postgres';
import { describe, expect, inject, it } from 'vitest';
import { connect } from '../../local/tooling/connect.ts';
import { withDatabase } from '../../local/tooling/database-url.ts';
import { appliedVersions, listMigrations } from '../../local/tooling/migrations.ts';
import { projectRoot } from '../../local/tooling/project.ts';
import { runSqlFile } from '../../local/tooling/sql-file.ts';
import { formatStepError, StepError } from '../../local/tooling/step.ts';
import { migrateUp, runSupabaseCli } from '../../local/tooling/supabase-cli.ts';
import { resetDatabase } from '../../scripts/lib/reset.ts';
import { insertUser } from '../support/rows.ts';
import { createTestDatabase } from '../support/test-database.ts';

const execFileAsync = promisify(execFile);

async function runDbScript(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await execFileAsync(
      join(projectRoot, 'node_modules', '.bin', 'tsx'),
      [join(projectRoot, 'scripts', 'db.ts'), ...args],
      { cwd: projectRoot, env: { ...process.env, ...env }, timeout: 120_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

/** A database name on the test server that does not exist yet. */
function freshDatabaseUrl(): string {
  const { adminUrl, runId } = inject('postgres');
  return withDatabase(adminUrl, `test_${runId}_${randomBytes(6).toString('hex')}`);
}

async function withSql<T>(url: string, use: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = connect(url);
  try {
    return await use(sql);
  } finally {
    await sql.end();
  }
}

describe('npm run db:reset', () => {
  it('builds an empty local database: bootstrap, every migration, seed; and again', async () => {
    const url = freshDatabaseUrl();
    for (let run = 0; run < 2; run += 1) {
      const result = await runDbScript(['reset'], { DATABASE_URL: url });
      expect(result.stderr + result.stdout).toContain('✔ seed.sql');
      expect(result.code).toBe(0);
    }
    const { stdout } = await runSupabaseCli('supabase migration list', ['migration', 'list'], url);
    for (const { version } of listMigrations()) {
      expect(stdout).toMatch(new RegExp(`${version}\\S*\\s*\\|\\s*\\S*${version}`));
    }
    await withSql(url, async (sql) => {
      expect(await appliedVersions(sql)).toEqual(listMigrations().map((m) => m.version));
      const users = await sql`select email from auth.users order by email`;
      expect(users.map((u) => u.email)).toEqual(['demo@example.com', 'friend@example.com']);
      const [counts] = await sql`
        select (select count(*)::int from public.langfuse_traces) as traces,
               (select count(*)::int from public.langfuse_scores) as scores
      `;
      expect(counts).toEqual({ traces: 1, scores: 1 });
    });
  });

  it('refuses a database that is not on this machine, and says how to insist', async () => {
    const result = await runDbScript(['reset'], {
      DATABASE_URL: 'postgresql://postgres:secret@db.example.com:5432/postgres',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('check target failed');
    expect(result.stderr).toContain('--force');
    expect(result.stderr).not.toContain('secret');
  });

  it('names the failed step and exits non-zero when the server is unreachable', async () => {
    const result = await runDbScript(['reset'], {
      DATABASE_URL: 'postgresql://postgres:postgres@127.0.0.1:9/postgres',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✖ inspect target failed');
    expect(result.stderr).toContain('ECONNREFUSED');
  });

  it('keeps the platform and its users on a Supabase database', async () => {
    const db = await createTestDatabase();
    try {
      // What tells a Supabase database apart: an auth schema it did not get from our bootstrap.
      await db.sql`comment on schema auth is 'Supabase auth'`;
      const kept = await insertUser(db.sql, 'kept@example.com');
      await db.sql`
        insert into public.rate_limit_logs (user_id, endpoint, window_start) values (${kept.id}, 'x', now())
      `;
      await db.sql.end();
      await resetDatabase(db.url);
      await withSql(db.url, async (sql) => {
        const users = await sql`select email from auth.users order by email`;
        expect(users.map((u) => u.email)).toEqual([
          'demo@example.com',
          'friend@example.com',
          'kept@example.com',
        ]);
        expect(await sql`select * from public.rate_limit_logs`).toHaveLength(0);
        expect(await appliedVersions(sql)).toEqual(listMigrations().map((m) => m.version));
      });
    } finally {
      await db.drop();
    }
  });
});

describe('step errors', () => {
  it('report the file, the line and the Postgres error of a failing SQL file', async () => {
    const db = await createTestDatabase('empty');
    const dir = await mkdtemp(join(tmpdir(), 'ai-coach-sql-'));
    const file = join(dir, 'broken.sql');
    await writeFile(file, 'create table ok (id int);\n\nselect * from\n  missing_table;\n');
    try {
      const error = await runSqlFile(db.sql, 'seed', file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepError);
      const text = formatStepError(error as StepError);
      expect(text).toContain('✖ seed failed');
      expect(text).toContain(`file: ${file}`);
      expect(text).toContain('relation "missing_table" does not exist');
      expect(text).toContain('SQLSTATE 42P01');
      expect(text).toContain('at line 4, column 3');
      // All or nothing: the statement before the error was rolled back.
      expect(await db.sql`select to_regclass('public.ok') as t`).toEqual([{ t: null }]);
    } finally {
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('carry the CLI output naming the failing migration', async () => {
    const db = await createTestDatabase('empty');
    try {
      // A platform is there (so nothing is skipped), but so is a table the first migration creates.
      await db.sql.unsafe('create schema auth; create table public.ai_coach_messages (id int)');
      const error = await migrateUp(db.url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepError);
      expect((error as StepError).step).toBe('supabase migration up');
      expect((error as StepError).detail).toContain('20251113000001_create_coach_tables.sql');
      expect((error as StepError).detail).toContain('already exists');
    } finally {
      await db.drop();
    }
  });
});
