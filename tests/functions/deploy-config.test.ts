/**
 * The functions deploy as they run here: every function has an entry in
 * config.toml with verify_jwt set, and a deno.json whose npm: pins are
 * exactly the versions Node tests run (package.json), covering every bare
 * import the functions use.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot, supabaseDir } from '../../local/tooling/project.ts';

const functionsDir = join(supabaseDir, 'functions');
const functionNames = readdirSync(functionsDir).filter(
  (name) => !name.startsWith('_') && statSync(join(functionsDir, name)).isDirectory(),
);
const readJson = (path: string) =>
  JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
const packageJson = readJson(join(projectRoot, 'package.json')) as {
  devDependencies: Record<string, string>;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Bare specifiers (not relative, not node:) imported anywhere under supabase/functions. */
function bareImports(): Set<string> {
  const found = new Set<string>();
  for (const file of sourceFiles(functionsDir)) {
    for (const match of readFileSync(file, 'utf8').matchAll(/from '([^'.][^']*)'/g)) {
      const specifier = match[1] as string;
      if (!specifier.startsWith('node:')) found.add(specifier);
    }
  }
  return found;
}

describe('deployable functions', () => {
  it('has the expected functions', () => {
    expect(functionNames.sort()).toEqual([
      'ai-coach',
      'budget',
      'daily-status',
      'encouragement',
      'feedback',
      'health',
      'langfuse-sync',
      'reflection',
    ]);
  });

  it.each(functionNames)('%s has an index.ts and a config.toml entry with verify_jwt', (name) => {
    expect(statSync(join(functionsDir, name, 'index.ts')).isFile()).toBe(true);
    const toml = readFileSync(join(supabaseDir, 'config.toml'), 'utf8');
    const section = new RegExp(
      `\\[functions\\.${name}\\]\\n(?:[^[]*\\n)*?verify_jwt = (true|false)`,
    ).exec(toml);
    expect(section?.[1]).toBe(['health', 'langfuse-sync'].includes(name) ? 'false' : 'true');
    expect(toml).toContain(`import_map = "./functions/${name}/deno.json"`);
  });

  it.each(functionNames)('%s pins every bare import to the version the tests run', (name) => {
    const imports = readJson(join(functionsDir, name, 'deno.json')).imports as Record<
      string,
      string
    >;
    expect(imports).toEqual(readJson(join(projectRoot, 'deno.json')).imports);
    for (const specifier of bareImports()) expect(imports[specifier], specifier).toBeDefined();
    for (const target of Object.values(imports)) {
      const match = /^npm:(@?[^@]+)@([^/]+)/.exec(target);
      expect(match, target).not.toBeNull();
      const [, pkg, version] = match as RegExpExecArray;
      expect(packageJson.devDependencies[pkg as string], pkg).toBe(version);
    }
  });
});

describe('the sync schedule', () => {
  it('is the same cron expression locally and in the hosted pg_cron job', async () => {
    const { LANGFUSE_SYNC_CRON } = await import(
      '../../supabase/functions/_shared/langfuse/schedule.ts'
    );
    const sqlFile = readFileSync(join(supabaseDir, 'schedules', 'langfuse-sync.sql'), 'utf8');
    const scheduled = /cron\.schedule\(\s*'langfuse-sync',\s*'([^']+)'/.exec(sqlFile)?.[1];
    expect(scheduled).toBe(LANGFUSE_SYNC_CRON);
  });
});

describe('the retention schedule', () => {
  it('is the same locally and in the hosted pg_cron jobs, with the same retention', async () => {
    const { DEFAULT_RETENTION_DAYS, RETENTION_CRON } = await import(
      '../../scripts/lib/retention.ts'
    );
    const sqlFile = readFileSync(join(supabaseDir, 'schedules', 'retention.sql'), 'utf8');
    const schedules = [...sqlFile.matchAll(/cron\.schedule\('([^']+)', '([^']+)'/g)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(schedules).toEqual([
      ['retention-traces', RETENTION_CRON],
      ['retention-rate-limit-logs', RETENTION_CRON],
      ['retention-batch-runs', RETENTION_CRON],
    ]);
    expect(sqlFile).toContain(`cleanup_old_traces(${DEFAULT_RETENTION_DAYS})`);
  });
});
