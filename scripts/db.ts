/**
 * Database commands of the local stack:
 *
 *   npm run db:start                  start the embedded Postgres (127.0.0.1:54322)
 *   npm run db:stop                   stop it
 *   npm run db:reset [-- --force]     recreate, bootstrap, migrate, seed
 *   npm run db:migrate                apply pending migrations
 *   npm run db:rollback [-- N|--all]  undo the newest N migrations (default 1)
 *   npm run db:types [-- --out FILE]  the schema's TypeScript types (supabase-js), to stdout or FILE
 *   npm run db:advisors               supabase db advisors --fail-on warn
 *   npm run db:cleanup                retention now (RETENTION_DAYS, default 90)
 *
 * Every command targets DATABASE_URL when it is set, otherwise the embedded
 * Postgres, which is started in the background when needed.
 */
import { writeFile } from 'node:fs/promises';
import { ensureLocalPostgres, stopLocalPostgres } from '../local/postgres/embedded.ts';
import { connect } from '../local/tooling/connect.ts';
import { LOCAL_DATABASE_URL, redactUrl, targetDatabaseUrl } from '../local/tooling/database-url.ts';
import { rollbackMigrations } from '../local/tooling/migrations.ts';
import { runMain, StepError } from '../local/tooling/step.ts';
import { migrateUp, runSupabaseCli } from '../local/tooling/supabase-cli.ts';
import { generateDatabaseTypes } from './lib/codegen.ts';
import { resetDatabase } from './lib/reset.ts';
import { DEFAULT_RETENTION_DAYS, runRetention } from './lib/retention.ts';

const log = (line: string) => console.log(line);
/** For commands whose stdout is their output. */
const logToStderr = (line: string) => console.error(line);

/** The target database, with the embedded server started if it is the target. */
async function target(say = log): Promise<string> {
  const url = targetDatabaseUrl();
  if (url === LOCAL_DATABASE_URL) {
    const { started } = await ensureLocalPostgres();
    if (started) say(`✔ started local Postgres on 127.0.0.1:54322 (stop it with npm run db:stop)`);
  }
  say(`→ ${redactUrl(url)}`);
  return url;
}

function rollbackSteps(args: string[]): number {
  if (args.includes('--all')) return Number.POSITIVE_INFINITY;
  const [count] = args;
  if (count === undefined) return 1;
  const steps = Number(count);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new StepError(
      'parse arguments',
      `expected a number of migrations or --all, got "${count}"`,
    );
  }
  return steps;
}

const commands: Record<string, (args: string[]) => Promise<void>> = {
  async start() {
    const { started } = await ensureLocalPostgres();
    log(`${started ? '✔ started' : '✔ already running:'} ${redactUrl(LOCAL_DATABASE_URL)}`);
  },
  async stop() {
    log((await stopLocalPostgres()) ? '✔ stopped local Postgres' : 'local Postgres is not running');
  },
  async reset(args) {
    const url = await target();
    await resetDatabase(url, {
      force: args.includes('--force'),
      seed: !args.includes('--no-seed'),
      log,
    });
  },
  async migrate() {
    process.stdout.write(await migrateUp(await target()));
  },
  async rollback(args) {
    const steps = rollbackSteps(args);
    const sql = connect(await target());
    try {
      const undone = await rollbackMigrations(sql, steps);
      for (const migration of undone) log(`✔ rolled back ${migration.version}_${migration.name}`);
      if (undone.length === 0) log('nothing to roll back');
    } finally {
      await sql.end();
    }
  },
  async types(args) {
    const outAt = args.indexOf('--out');
    const out = outAt === -1 ? undefined : args[outAt + 1];
    if (outAt !== -1 && !out) throw new StepError('parse arguments', '--out wants a file name');
    const types = await generateDatabaseTypes(await target(logToStderr));
    if (!out) {
      await new Promise<void>((resolve) => process.stdout.write(types, () => resolve()));
      return;
    }
    await writeFile(out, types);
    logToStderr(`✔ wrote ${out}`);
  },
  async cleanup() {
    const sql = connect(await target());
    try {
      const retentionDays = Number(process.env.RETENTION_DAYS ?? DEFAULT_RETENTION_DAYS);
      const report = await runRetention(sql, { retentionDays });
      log(
        `✔ deleted ${report.traces} traces older than ${retentionDays} days, ${report.rateLimitWindows} rate-limit windows, ${report.batchRuns} sync runs`,
      );
    } finally {
      await sql.end();
    }
  },
  async advisors() {
    const { stdout, stderr } = await runSupabaseCli(
      'supabase db advisors',
      ['db', 'advisors', '--fail-on', 'warn'],
      await target(),
    );
    process.stdout.write(stdout);
    process.stderr.write(stderr);
  },
};

runMain(async () => {
  const [name, ...args] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) {
    throw new StepError('parse arguments', `unknown command "${name ?? ''}"`, {
      detail: `commands: ${Object.keys(commands).join(', ')}`,
    });
  }
  await command(args);
});
