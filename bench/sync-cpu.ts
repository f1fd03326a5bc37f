/**
 * The sync-cpu part of `npm run bench`: what one pass of the Langfuse sync
 * costs the functions' Deno process in CPU, as hosted Supabase counts it
 * against its 2 s per request. The langfuse-sync function runs in the
 * functions server against the local Langfuse server, at its default batch
 * sizes (SYNC_MAX_TRACES, SYNC_MAX_SCORES) with a backlog larger than one
 * pass: first as the first request of a new server (cold: modules loaded and
 * compiled within the pass, as in a new isolate), then warm. Two more passes,
 * traces only and scores only, say what each item costs. CPU is read from /proc (the
 * server's process and its threads); Postgres' CPU is reported beside it.
 */
import { freePort } from '../local/free-port.ts';
import { startLangfuseServer } from '../local/langfuse/server.ts';
import { connect } from '../local/tooling/connect.ts';
import { createKeys, platformEnv } from '../local/tooling/keys.ts';
import { ensureUser } from '../local/tooling/users.ts';
import { loadSyncConfig } from '../supabase/functions/_shared/langfuse/config.ts';
import { cpuMs, treeCpuMs } from './lib/cpu.ts';
import { startBenchFunctionsServer } from './lib/functions-server.ts';
import { round } from './lib/stats.ts';
import { insertSyncBacklog } from './lib/sync-backlog.ts';

export interface SyncCpuPass {
  pass: string;
  tracesExported: number;
  scoresSent: number;
  denoCpuMs: number | null;
  postgresCpuMs: number | null;
  wallMs: number;
}

export interface SyncCpuBench {
  maxTraces: number;
  maxScores: number;
  passes: SyncCpuPass[];
  /** Deno CPU ms a trace and a score, from the traces-only and scores-only passes. */
  cpuPerTraceMs: number | null;
  cpuPerScoreMs: number | null;
}

export async function benchSyncCpu(databaseUrl: string): Promise<SyncCpuBench> {
  const db = connect(databaseUrl);
  const langfuse = await startLangfuseServer();
  const keys = await createKeys();
  const port = await freePort();
  const env = {
    LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
    LANGFUSE_SECRET_KEY: langfuse.secretKey,
    LANGFUSE_BASE_URL: langfuse.url,
    APP_ENVIRONMENT: 'bench',
  };
  const defaults = loadSyncConfig(env);
  const server = await startBenchFunctionsServer({
    port,
    env: { ...platformEnv(keys, `http://127.0.0.1:${port}`, databaseUrl), ...env },
    onLog: () => {},
  });
  const { id: userId } = await ensureUser(db, 'bench-sync-cpu@example.com');
  const clear = async () => {
    await db`delete from public.langfuse_traces`;
    langfuse.reset();
  };
  const pass = async (name: string): Promise<SyncCpuPass> => {
    const denoBefore = await treeCpuMs(server.process.pid as number);
    const postgresBefore = await cpuMs({ command: 'postgres' });
    const started = performance.now();
    const res = await fetch(`${server.url}/functions/v1/langfuse-sync`, {
      method: 'POST',
      headers: { apikey: keys.secretKey },
    });
    const summary = (await res.json()) as { tracesExported?: number; scoresSent?: number };
    if (!res.ok)
      throw new Error(`langfuse-sync answered ${res.status}: ${JSON.stringify(summary)}`);
    const wallMs = performance.now() - started;
    const denoAfter = await treeCpuMs(server.process.pid as number);
    const postgresAfter = await cpuMs({ command: 'postgres' });
    return {
      pass: name,
      tracesExported: summary.tracesExported ?? 0,
      scoresSent: summary.scoresSent ?? 0,
      denoCpuMs: denoBefore === null || denoAfter === null ? null : round(denoAfter - denoBefore),
      postgresCpuMs:
        postgresBefore === null || postgresAfter === null
          ? null
          : round(postgresAfter - postgresBefore),
      wallMs: round(wallMs),
    };
  };
  try {
    const passes: SyncCpuPass[] = [];
    const backlog = Math.ceil(Math.max(defaults.maxTraces, defaults.maxScores / 4) * 1.5);
    const label = `backlog of ${backlog} traces, ${backlog * 4} scores`;
    for (const temperature of ['cold (first request of a new server)', 'warm']) {
      await clear();
      await insertSyncBacklog(db, userId, { traces: backlog, scoresPerTrace: 4 });
      passes.push(await pass(`defaults, ${label}: ${temperature}`));
    }

    await clear();
    await insertSyncBacklog(db, userId, { traces: defaults.maxTraces, scoresPerTrace: 0 });
    const traces = await pass(`traces only (${defaults.maxTraces})`);
    passes.push(traces);

    await clear();
    const scoreTraces = Math.ceil(defaults.maxScores / 4);
    await insertSyncBacklog(db, userId, { traces: scoreTraces, scoresPerTrace: 4, exported: true });
    const scores = await pass(`scores only (${scoreTraces * 4})`);
    passes.push(scores);

    const per = (cpu: number | null, n: number) =>
      cpu === null || n === 0 ? null : round(cpu / n, 3);
    return {
      maxTraces: defaults.maxTraces,
      maxScores: defaults.maxScores,
      passes,
      cpuPerTraceMs: per(traces.denoCpuMs, traces.tracesExported),
      cpuPerScoreMs: per(scores.denoCpuMs, scores.scoresSent),
    };
  } finally {
    await server.stop();
    await langfuse.stop();
    await db`delete from public.langfuse_traces`.catch(() => {});
    await db.end();
  }
}
