/**
 * `npm start`: the local stack. Today that is the database: DATABASE_URL, or
 * the embedded Postgres on 127.0.0.1:54322 (started here when nothing answers
 * there), with the platform bootstrapped on first use, pending migrations
 * applied, and the seed loaded into a brand-new database. Ctrl-C stops what
 * this process started.
 */
import { existsSync } from 'node:fs';
import { LOCAL_DATABASE_URL, redactUrl, targetDatabaseUrl } from './lib/database-url.ts';
import { ensureLocalPostgres, stopLocalPostgres } from './lib/local-postgres.ts';
import { bootstrapPlatform } from './lib/platform.ts';
import { seedFile } from './lib/project.ts';
import { connect } from './lib/reset.ts';
import { runSqlFile } from './lib/sql-file.ts';
import { runMain } from './lib/step.ts';
import { migrateUp } from './lib/supabase-cli.ts';

const log = (line: string) => console.log(line);

async function prepareDatabase(url: string): Promise<void> {
  const sql = connect(url);
  try {
    const fresh = (await bootstrapPlatform(sql)) === 'bootstrapped';
    if (fresh) log('✔ platform bootstrap (new database)');
    const applied = (await migrateUp(url)).match(/Applying migration/g)?.length ?? 0;
    log(`✔ migrations up to date (${applied} applied now)`);
    if (fresh && existsSync(seedFile)) {
      await runSqlFile(sql, 'seed', seedFile);
      log('✔ seed.sql');
    }
  } finally {
    await sql.end();
  }
}

runMain(async () => {
  const url = targetDatabaseUrl();
  let startedPostgres = false;
  if (url === LOCAL_DATABASE_URL) {
    startedPostgres = (await ensureLocalPostgres()).started;
    log(startedPostgres ? '✔ started local Postgres' : '✔ local Postgres already running');
  }
  await prepareDatabase(url);

  log('');
  log(`  Database   ${redactUrl(url)}`);
  log('  Reset it   npm run db:reset');
  log('');
  log('Press Ctrl-C to stop.');

  // A pending promise alone does not keep Node running; the timer does.
  const keepAlive = setInterval(() => {}, 60_000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(keepAlive);
  if (startedPostgres) {
    await stopLocalPostgres();
    log('✔ stopped local Postgres');
  }
});
