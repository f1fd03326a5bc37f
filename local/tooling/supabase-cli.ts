/**
 * The Supabase CLI from npm, pointed at a database URL with --remote. Without
 * Docker it still applies migrations, lists them, runs the advisors and
 * generates types.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { supabaseCliUrl } from './database-url.ts';
import { projectRoot } from './project.ts';
import { StepError } from './step.ts';

const execFileAsync = promisify(execFile);
const cliBin = join(projectRoot, 'node_modules', '.bin', 'supabase');

export interface CliResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs `supabase <args> --remote=<url>` in the project. `--yes` confirms
 * changes, since scripts never have a terminal to ask on. A non-zero exit
 * becomes a StepError carrying the CLI's own output.
 */
export async function runSupabaseCli(
  step: string,
  args: string[],
  databaseUrl: string,
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(
      cliBin,
      [...args, `--remote=${supabaseCliUrl(databaseUrl)}`, '--yes', '--agent', 'no'],
      {
        cwd: projectRoot,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 300_000,
        env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      },
    );
    return { stdout, stderr };
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string; code?: number };
    const output = [failure.stdout, failure.stderr]
      .filter((text) => text?.trim())
      .join('\n')
      .trim();
    throw new StepError(
      step,
      `supabase ${args.join(' ')} exited with ${failure.code ?? 'an error'}`,
      {
        detail: output || failure.message,
      },
    );
  }
}

/** Applies pending migrations with the CLI, which records them in supabase_migrations. */
export async function migrateUp(databaseUrl: string): Promise<string> {
  const { stdout, stderr } = await runSupabaseCli(
    'supabase migration up',
    ['migration', 'up'],
    databaseUrl,
  );
  return `${stdout}${stderr}`;
}
