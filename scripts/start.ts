/**
 * `npm start`: the local stack, without Docker.
 *
 *  - Postgres: DATABASE_URL, or the embedded Postgres on 127.0.0.1:54322
 *    (started here when nothing answers there). A new database gets the
 *    platform bootstrap and the seed; pending migrations are applied.
 *  - Edge Functions under Deno at http://127.0.0.1:54321/functions/v1/<name>,
 *    with the JWKS at /auth/v1/.well-known/jwks.json and the variables the
 *    platform gives functions (SUPABASE_URL, SUPABASE_DB_URL, SUPABASE_JWKS,
 *    SUPABASE_SECRET_KEYS, SUPABASE_PUBLISHABLE_KEYS).
 *  - With no LLM key configured, the local mock LLM; with no Langfuse keys,
 *    the local Langfuse-compatible server (on :54330; Langfuse v4 as Langfuse
 *    Cloud runs it, or v3 with LOCAL_LANGFUSE_VERSION=v3), unless
 *    `npm start -- --without-langfuse`: then the sync runs as a project
 *    without Langfuse keys does (derived scores, rollup, no sending).
 *  - The Langfuse sync every minute (LANGFUSE_SYNC_CRON), as pg_cron does on
 *    hosted Supabase.
 *
 * Ctrl-C stops everything this process started.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Cron } from 'croner';
import { startLangfuseServer } from '../local/langfuse/server.ts';
import { startMockLlm } from '../local/mock-llm.ts';
import { ensureLocalPostgres, stopLocalPostgres } from '../local/postgres/embedded.ts';
import { connect } from '../local/tooling/connect.ts';
import { LOCAL_DATABASE_URL, redactUrl, targetDatabaseUrl } from '../local/tooling/database-url.ts';
import { startFunctionsServer } from '../local/tooling/functions-server.ts';
import { loadOrCreateKeys, platformEnv } from '../local/tooling/keys.ts';
import { bootstrapPlatform } from '../local/tooling/platform.ts';
import { seedFile } from '../local/tooling/project.ts';
import { runSqlFile } from '../local/tooling/sql-file.ts';
import { runMain } from '../local/tooling/step.ts';
import { migrateUp } from '../local/tooling/supabase-cli.ts';
import { LANGFUSE_SYNC_CRON } from '../supabase/functions/_shared/langfuse/schedule.ts';
import { DEFAULT_RETENTION_DAYS, RETENTION_CRON, runRetention } from './lib/retention.ts';

const API_PORT = Number(process.env.FUNCTIONS_PORT ?? 54321);
const LOCAL_LANGFUSE_PORT = 54330;
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

function hasLlmKey(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.OPENAI_API_KEY?.trim() || env.ANTHROPIC_API_KEY?.trim());
}

runMain(async () => {
  const { values: flags } = parseArgs({ options: { 'without-langfuse': { type: 'boolean' } } });
  const stops: (() => Promise<unknown>)[] = [];
  const databaseUrl = targetDatabaseUrl();
  if (databaseUrl === LOCAL_DATABASE_URL) {
    const { started } = await ensureLocalPostgres();
    log(started ? '✔ started local Postgres' : '✔ local Postgres already running');
    if (started) stops.push(stopLocalPostgres);
  }
  await prepareDatabase(databaseUrl);

  const llmEnv: Record<string, string> = {};
  let llmLine: string;
  if (hasLlmKey(process.env)) {
    llmLine = `LLM        ${process.env.LLM_PROVIDER ?? (process.env.OPENAI_API_KEY ? 'openai' : 'anthropic')} (from your environment)`;
  } else {
    const mock = await startMockLlm({ behavior: { latencyMs: 150, chunkDelayMs: 20 } });
    stops.unshift(() => mock.stop());
    Object.assign(llmEnv, {
      LLM_PROVIDER: 'openai',
      OPENAI_API_KEY: 'mock-key',
      OPENAI_BASE_URL: mock.openaiBaseUrl,
    });
    llmLine = `LLM        local mock at ${mock.openaiBaseUrl} (no OPENAI_API_KEY or ANTHROPIC_API_KEY set)`;
  }

  const langfuseEnv: Record<string, string> = {};
  let langfuseLine: string;
  if (flags['without-langfuse']) {
    // Keys from the shell are dropped too: the functions see none.
    Object.assign(langfuseEnv, { LANGFUSE_PUBLIC_KEY: '', LANGFUSE_SECRET_KEY: '' });
    langfuseLine =
      'Langfuse   none (--without-langfuse): the sync derives scores and rolls up usage, sends nothing';
  } else if (process.env.LANGFUSE_PUBLIC_KEY && process.env.LANGFUSE_SECRET_KEY) {
    langfuseLine = `Langfuse   ${process.env.LANGFUSE_BASE_URL ?? 'https://cloud.langfuse.com'} (from your environment)`;
  } else {
    // Langfuse Cloud's version by default; LOCAL_LANGFUSE_VERSION=v3 for a self-hosted v3.
    const version = process.env.LOCAL_LANGFUSE_VERSION === 'v3' ? 'v3' : 'v4';
    const langfuse = await startLangfuseServer({ port: LOCAL_LANGFUSE_PORT, version });
    stops.unshift(() => langfuse.stop());
    Object.assign(langfuseEnv, {
      LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
      LANGFUSE_SECRET_KEY: langfuse.secretKey,
      LANGFUSE_BASE_URL: langfuse.url,
    });
    const read =
      version === 'v4'
        ? `${langfuse.url}/api/public/v2/observations?traceId=<traceId without dashes>`
        : `${langfuse.url}/api/public/traces/<traceId without dashes>`;
    langfuseLine = `Langfuse   local server (${version}) at ${langfuse.url}; a trace: curl -u ${langfuse.publicKey}:${langfuse.secretKey} '${read}'`;
  }

  const keys = await loadOrCreateKeys();
  const apiUrl = `http://127.0.0.1:${API_PORT}`;
  const functions = await startFunctionsServer({
    port: API_PORT,
    env: { ...platformEnv(keys, apiUrl, databaseUrl), ...llmEnv, ...langfuseEnv },
  });
  stops.unshift(() => functions.stop());
  log(`✔ ${functions.functions.length} functions served by Deno`);

  // The scheduler: call langfuse-sync on the cron schedule, never two at once.
  const sync = new Cron(LANGFUSE_SYNC_CRON, { protect: true }, async () => {
    try {
      const res = await fetch(`${apiUrl}/functions/v1/langfuse-sync`, {
        method: 'POST',
        headers: { apikey: keys.secretKey, 'content-type': 'application/json' },
        body: '{}',
      });
      const summary = (await res.json()) as Record<string, unknown>;
      const langfuse = summary.langfuse === 'not configured' ? ' (no Langfuse)' : '';
      log(
        `[sync] ${res.status} traces ${summary.tracesExported ?? '-'}, scores created ${summary.scoresCreated ?? '-'}, sent ${summary.scoresSent ?? '-'}${langfuse}`,
      );
    } catch (error) {
      log(`[sync] failed: ${String(error)}`);
    }
  });
  stops.unshift(async () => sync.stop());

  // Retention on its own schedule, through the same SQL functions pg_cron calls.
  const retentionDays = Number(process.env.RETENTION_DAYS ?? DEFAULT_RETENTION_DAYS);
  const retentionSql = connect(databaseUrl);
  const retention = new Cron(RETENTION_CRON, { protect: true }, async () => {
    try {
      const report = await runRetention(retentionSql, { retentionDays });
      if (report.traces + report.rateLimitWindows + report.batchRuns > 0) {
        log(
          `[retention] deleted ${report.traces} traces, ${report.rateLimitWindows} rate-limit windows, ${report.batchRuns} sync runs`,
        );
      }
    } catch (error) {
      log(`[retention] failed: ${String(error)}`);
    }
  });
  stops.unshift(async () => {
    retention.stop();
    await retentionSql.end();
  });

  log('');
  log(`  Functions  ${apiUrl}/functions/v1/<name>  (${functions.functions.join(', ')})`);
  log(`  JWKS       ${apiUrl}/auth/v1/.well-known/jwks.json`);
  log(`  Database   ${redactUrl(databaseUrl)}`);
  log(`  ${llmLine}`);
  log(`  ${langfuseLine}`);
  log(`  Sync       every minute (${LANGFUSE_SYNC_CRON}); one pass now: npm run sync`);
  log(
    `  Retention  ${retentionDays} days, every five minutes (${RETENTION_CRON}); now: npm run db:cleanup`,
  );
  log(`  API keys   publishable ${keys.publishableKey}`);
  log('');
  log('  Get a token and talk to the coach:');
  log('    TOKEN=$(npm run -s token -- you@example.com)');
  log(`    curl -s ${apiUrl}/functions/v1/ai-coach -H "Authorization: Bearer $TOKEN" \\`);
  log(`      -H 'content-type: application/json' -d '{"message":"Help me start running"}'`);
  log('');
  log('Press Ctrl-C to stop.');

  // A pending promise alone does not keep Node running; the timer does.
  const keepAlive = setInterval(() => {}, 60_000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(keepAlive);
  log('\nstopping…');
  for (const stop of stops) await stop().catch((error: unknown) => console.error(error));
  log('✔ stopped');
});
