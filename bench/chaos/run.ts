/**
 * `npm run chaos`: the stack under steady load while its dependencies break,
 * one at a time, and what users and the operator got. Not a test: it
 * reports (a table, bench-results/chaos.json and a summary line) and exits 0
 * whether the targets are met or not.
 *
 * Its own throwaway Postgres (stopped, then frozen), the mock LLM in this
 * process (made to hang, answer 500, answer 429 with a long Retry-After)
 * behind a meter that notes each answer, and the Deno functions server.
 * Each fault strikes after --lead-in-seconds of load, at a moment the
 * functions wait on an LLM call, lasts --phase-seconds, then the load goes on
 * for --recovery-seconds; the requests finish, the background writes settle,
 * and the database and the server's error log are read. Targets per phase:
 * no answer 500; the slowest answer within the broken dependency's deadline
 * setting + 1 s (n/a when the functions have none); every LLM call that was
 * answered (paid) recorded as a trace, or at least as an error log line
 * with its trace id and reply.
 *
 * The local Langfuse server takes the functions' exports, and a scheduler
 * calls langfuse-sync every few seconds through every phase (sync.ts):
 * two phases make Langfuse slow (slower than the database's idle limit) and
 * silent. Per phase: the server answers health throughout and the sync never
 * answers 500; at the end, with Langfuse well: every trace and score Langfuse
 * took, once, and every sync run's row ended. Options: see USAGE in
 * settings.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../local/free-port.ts';
import { startLangfuseServer } from '../../local/langfuse/server.ts';
import { startMockLlm } from '../../local/mock-llm.ts';
import { createMigratedDatabase } from '../../local/postgres/migrated-database.ts';
import { startTestCluster } from '../../local/postgres/throwaway-cluster.ts';
import { connect } from '../../local/tooling/connect.ts';
import { createKeys, platformEnv, signUserToken } from '../../local/tooling/keys.ts';
import { projectRoot } from '../../local/tooling/project.ts';
import { runMain, StepError } from '../../local/tooling/step.ts';
import { ensureUser } from '../../local/tooling/users.ts';
import { loadSyncConfig, runLifetimeMs } from '../../supabase/functions/_shared/langfuse/config.ts';
import { startBenchFunctionsServer } from '../lib/functions-server.ts';
import { startLlmMeter } from './llm-meter.ts';
import { type ChaosRequest, type LoadTarget, phaseTag, sendChatTurn } from './load.ts';
import { chaosPhases, type PhaseResult, printProblems, runPhase } from './phases.ts';
import { type LatencyBounds, rowsTable, summaryLine, targetsTable } from './report.ts';
import { createServerLog } from './server-log.ts';
import { describeSettings, readFunctionSettings, readOptions } from './settings.ts';
import {
  accountForLangfuse,
  accountTable,
  startSyncScheduler,
  syncPhaseRow,
  syncTable,
} from './sync.ts';

runMain(async () => {
  const options = readOptions(process.argv.slice(2));
  const runStartedAt = performance.now();
  const interrupted = new AbortController();
  let interruptedAt = 0;
  const onSignal = () => {
    // Ctrl-C reaches this process twice (from the terminal and relayed by tsx): only a
    // press a while after the first means "leave now".
    if (interrupted.signal.aborted) {
      if (performance.now() - interruptedAt > 1000) process.exit(130);
      return;
    }
    interruptedAt = performance.now();
    console.error('\ninterrupted: stopping the servers (Ctrl-C again to leave at once)');
    interrupted.abort(new StepError('chaos', 'interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Stopped last-started first: the functions before the peers they hold connections to.
  const stops: (() => Promise<void>)[] = [];
  try {
    // An env without DATABASE_URL: always a local server of our own, which can be stopped.
    const cluster = await startTestCluster({});
    stops.push(() => cluster.stop());
    const postgres = cluster.control;
    if (!postgres) throw new StepError('start Postgres', 'the cluster cannot be controlled');
    const databaseUrl = await createMigratedDatabase(cluster, 'chaos');
    const mock = await startMockLlm({
      behavior: { latencyMs: options.llmLatencyMs, chunkDelayMs: 5 },
    });
    stops.push(() => mock.stop());
    const meter = await startLlmMeter(mock.url);
    stops.push(() => meter.stop());
    const langfuse = await startLangfuseServer();
    stops.push(() => langfuse.stop());
    const langfuseSlowMs = 2 * options.dbTimeoutMs + 1000;

    const all = chaosPhases(postgres, mock, { server: langfuse, slowMs: langfuseSlowMs });
    const unknown = options.phases.filter((slug) => !all.some((phase) => phase.slug === slug));
    if (unknown.length > 0) {
      const known = all.map((phase) => phase.slug).join(', ');
      throw new StepError('read the options', `unknown phases: ${unknown.join(', ')} (${known})`);
    }
    const phases = all.filter(
      (phase) =>
        phase.slug === 'baseline' ||
        options.phases.length === 0 ||
        options.phases.includes(phase.slug),
    );

    const keys = await createKeys();
    const port = await freePort();
    const functionsUrl = `http://127.0.0.1:${port}`;
    const probe = await readFunctionSettings({});
    const has = (name: string) => probe.names.has(name);
    const deadlines: Record<string, string> = {};
    if (has('DB_TIMEOUT_MS')) deadlines.DB_TIMEOUT_MS = String(options.dbTimeoutMs);
    if (options.llmDeadlineMs !== null && has('LLM_DEADLINE_MS')) {
      deadlines.LLM_DEADLINE_MS = String(options.llmDeadlineMs);
    }
    if (options.llmTimeoutMs !== null) deadlines.LLM_TIMEOUT_MS = String(options.llmTimeoutMs);
    const passed = { ...deadlines, ...options.extraEnv };
    const env = {
      ...platformEnv(keys, functionsUrl, databaseUrl),
      LLM_PROVIDER: 'openai',
      OPENAI_API_KEY: 'chaos',
      OPENAI_BASE_URL: meter.openaiBaseUrl,
      LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
      LANGFUSE_SECRET_KEY: langfuse.secretKey,
      LANGFUSE_BASE_URL: langfuse.url,
      ...passed,
    };
    const settings = await readFunctionSettings(env);
    const effectiveMs = (name: string): { setting: string; ms: number } | null => {
      if (!has(name)) return null;
      const ms = Number(settings.effective?.[name] ?? passed[name] ?? process.env[name]);
      return Number.isFinite(ms) ? { setting: name, ms } : null;
    };
    const bounds: LatencyBounds = {
      postgres: effectiveMs('DB_TIMEOUT_MS'),
      llm: effectiveMs('LLM_DEADLINE_MS'),
    };

    console.log(
      `chaos: ${options.rate} requests/s (${Math.round(options.streamShare * 100)}% streamed) from ` +
        `${options.users} users; baseline ${options.baselineSeconds} s; each fault after ` +
        `${options.leadInSeconds} s of load, for ${options.phaseSeconds} s, then ` +
        `${options.recoverySeconds} s restored; client timeout ` +
        `${options.clientTimeoutMs} ms; mock LLM ${options.llmLatencyMs} ms latency, 5 ms between chunks`,
    );
    console.log(`functions: ${describeSettings(settings, passed).join(', ')}`);
    for (const [name, dependency] of [
      ['DB_TIMEOUT_MS', 'Postgres'],
      ['LLM_DEADLINE_MS', 'LLM'],
    ] as const) {
      if (!has(name)) {
        console.log(`  ${name} is not a setting of the functions: ${dependency} latency is n/a`);
      }
    }
    for (const name of Object.keys(options.extraEnv).filter((n) => !has(n))) {
      console.log(`  warning: --set ${name} is not a setting of the functions`);
    }
    if (options.llmDeadlineMs !== null && !has('LLM_DEADLINE_MS')) {
      console.log('  warning: --llm-deadline-ms ignored: the functions have no LLM_DEADLINE_MS');
    }
    if (settings.problem) {
      console.log(`  warning: the functions will refuse this env: ${settings.problem}`);
    }

    const serverLog = createServerLog();
    const server = await startBenchFunctionsServer({ port, env, onLog: serverLog.onLog });
    stops.push(() => server.stop());

    const db = connect(databaseUrl);
    const tokens: string[] = [];
    try {
      for (let i = 0; i < options.users; i += 1) {
        const user = await ensureUser(db, `chaos-${i}@example.com`);
        // Issued as this stack's Auth would: the functions check `iss` against SUPABASE_URL.
        const issuer = `${functionsUrl}/auth/v1`;
        tokens.push(await signUserToken(keys, { sub: user.id, ttlSeconds: 3600, issuer }));
      }
    } finally {
      await db.end();
    }
    const target: LoadTarget = {
      functionsUrl,
      tokens,
      clientTimeoutMs: options.clientTimeoutMs,
      streamShare: options.streamShare,
      interrupted: interrupted.signal,
    };

    // Warm up (Deno's module graph, the pools, the JIT), and find a broken checkout before the run.
    const warmup: ChaosRequest[] = [];
    for (let n = 1; n <= 5; n += 1) {
      const message = `chaos warmup ${String(n).padStart(5, '0')}`;
      warmup.push(
        await sendChatTurn(target, {
          message,
          user: n,
          stream: false,
          stage: 'steady',
          sentAtMs: 0,
        }),
      );
    }
    if (!warmup.some((request) => request.outcome === '200')) {
      const seen = warmup.map((r) => `${r.httpStatus ?? r.outcome} ${r.errorCode ?? ''}`.trim());
      const errors = serverLog.lines.filter((line) => line.entry?.level === 'error').slice(-3);
      throw new StepError('warm up', `no warm-up request succeeded (${seen.join(', ')})`, {
        detail: errors.map((line) => line.text).join('\n') || undefined,
      });
    }

    const run = { options, target, databaseUrl, mock, meter, serverLog, bounds };
    const scheduler = startSyncScheduler({
      functionsUrl,
      secretKey: keys.secretKey,
      databaseUrl,
      everyMs: options.syncEverySeconds * 1000,
    });
    stops.push(() => scheduler.stop());
    const results: PhaseResult[] = [];
    for (const phase of phases) results.push(await runPhase(phase, run));
    await scheduler.stop();
    const syncRows = results.map((result) =>
      syncPhaseRow(result.phase, scheduler, result.window.from, result.window.to, server.process),
    );
    const syncConfig = loadSyncConfig({ ...process.env, ...env });
    const account = await accountForLangfuse({
      functionsUrl,
      secretKey: keys.secretKey,
      databaseUrl,
      langfuse,
      runLifetimeMs: runLifetimeMs(syncConfig),
    });

    console.log('\nWhat users and the operator got, per phase (latency in ms):\n');
    console.log(rowsTable(results.map((result) => result.row)));
    console.log('\nTargets:\n');
    console.log(targetsTable(results));
    console.log(
      `\nThe Langfuse sync, called every ${options.syncEverySeconds} s through each phase (Langfuse slow: ${langfuseSlowMs} ms a request; the database ends a transaction idle for ${2 * options.dbTimeoutMs} ms):\n`,
    );
    console.log(syncTable(syncRows));
    console.log(
      `\nAfter the last phase, Langfuse well, ${account.passes} more passes; what Langfuse holds against the database (${account.openRuns} sync runs left open):\n`,
    );
    console.log(accountTable(account));
    printProblems(results);
    const summary = summaryLine(results, syncRows, account);

    const outDir = join(projectRoot, 'bench-results');
    await mkdir(outDir, { recursive: true });
    await writeFile(
      join(outDir, 'chaos.json'),
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          options,
          functionSettings: describeSettings(settings, passed),
          latencyBounds: bounds,
          summary,
          langfuseSync: {
            everySeconds: options.syncEverySeconds,
            phases: syncRows,
            account,
            calls: scheduler.calls.map((call) => ({
              startedAtMs: Math.round(call.at - runStartedAt),
              status: call.status,
              ms: Math.round(call.ms),
            })),
          },
          phases: results.map((result) => ({
            ...result,
            llmCalls: meter.calls.filter((call) =>
              call.lastUserMessage.startsWith(phaseTag(result.slug)),
            ),
          })),
        },
        null,
        2,
      )}\n`,
    );
    const seconds = Math.round((performance.now() - runStartedAt) / 1000);
    console.log(`\nwrote bench-results/chaos.json (run took ${seconds} s)`);
    console.log(`\n${summary}`);
  } finally {
    for (const stop of stops.reverse()) {
      await stop().catch((error: unknown) => console.error(`while stopping: ${String(error)}`));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
});
