/**
 * `npm run bench`: speed targets, measured on the real stack and printed as a
 * table (and written to bench-results/bench.json). Not a test: nothing here
 * passes or fails, it reports.
 *
 *  1. ai-coach overhead: the same request through the function (Deno server,
 *     JWT check, rate limit, prompt, store; trace written in the background)
 *     versus straight to the mock LLM, at fixed mock latency, for 1, 16 and 64
 *     concurrent clients. Target on 2 cores: p50 <= 2 ms, p99 <= 10 ms at 16.
 *  2. Rate-limiter checks per second (public.check_rate_limit over a pool).
 *  3. The Langfuse sync: one pass over 10,000 pending scores (2,500 traces)
 *     to the local Langfuse server: time, peak memory, scores per minute
 *     (target >= 20,000).
 *  4. Analytics over 1,000,000 traces (scripts/bench-analytics.ts): the
 *     30-day daily usage and one user's monthly cost (targets < 100 ms), and
 *     cleanup throughput. BENCH_ANALYTICS_TRACES changes the size.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LangfuseClient } from '@langfuse/client';
import { loadSyncConfig } from '../supabase/functions/_shared/langfuse/config.ts';
import { runSync } from '../supabase/functions/_shared/langfuse/sync.ts';
import { startLangfuseServer } from '../tests/support/langfuse-server.ts';
import { startMockLlm } from '../tests/support/mock-llm.ts';
import { freePort, startTestCluster } from '../tests/support/test-cluster.ts';
import { benchAnalytics } from './bench-analytics.ts';
import { connect } from './lib/connect.ts';
import { withDatabase } from './lib/database-url.ts';
import { startFunctionsServer } from './lib/functions-server.ts';
import { createKeys, platformEnv, signUserToken } from './lib/keys.ts';
import { bootstrapPlatform } from './lib/platform.ts';
import { projectRoot } from './lib/project.ts';
import { runMain } from './lib/step.ts';
import { migrateUp } from './lib/supabase-cli.ts';
import { ensureUser } from './lib/users.ts';

const MOCK_LATENCY_MS = Number(process.env.BENCH_MOCK_LATENCY_MS ?? 50);
const CONCURRENCY = [1, 16, 64];
const REQUESTS_PER_CLIENT = Number(process.env.BENCH_REQUESTS_PER_CLIENT ?? 40);
const RATE_LIMIT_SECONDS = 3;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

interface Distribution {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

function distribution(samples: number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    count: sorted.length,
  };
}

/** Runs `clients` loops of `perClient` sequential requests; returns each request's latency in ms. */
async function load(
  clients: number,
  perClient: number,
  request: () => Promise<void>,
): Promise<number[]> {
  const samples: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < perClient; i += 1) {
        const started = performance.now();
        await request();
        samples.push(performance.now() - started);
      }
    }),
  );
  return samples;
}

const round = (value: number) => Math.round(value * 100) / 100;

runMain(async () => {
  const cluster = await startTestCluster();
  const databaseUrl = withDatabase(cluster.adminUrl, 'bench');
  const admin = connect(cluster.adminUrl);
  await admin.unsafe('drop database if exists bench with (force)');
  await admin.unsafe('create database bench');
  await admin.end();
  const sql = connect(databaseUrl);
  await bootstrapPlatform(sql);
  await sql.end();
  await migrateUp(databaseUrl);

  const mock = await startMockLlm({ behavior: { latencyMs: MOCK_LATENCY_MS } });
  const keys = await createKeys();
  const port = await freePort();
  const server = await startFunctionsServer({
    port,
    env: {
      ...platformEnv(keys, `http://127.0.0.1:${port}`, databaseUrl),
      LLM_PROVIDER: 'openai',
      OPENAI_API_KEY: 'bench',
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      LLM_MAX_RETRIES: '0',
      RATE_LIMIT_AI_COACH: '100000000/60s',
      DB_POOL_MAX: '10',
      DB_PREPARE: process.env.DB_PREPARE ?? 'false',
    },
    onLog: () => {},
  });

  const db = connect(databaseUrl);
  const user = await ensureUser(db, 'bench@example.com');
  const token = await signUserToken(keys, { sub: user.id });
  const message = 'I keep skipping my morning run. Any advice?';

  const phases = new Map<string, number[]>();
  const viaFunction = async () => {
    const res = await fetch(`${server.url}/functions/v1/ai-coach`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message }),
    });
    if (res.status !== 200) throw new Error(`ai-coach answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    for (const phase of (res.headers.get('server-timing') ?? '').split(', ')) {
      const [name, duration] = phase.split(';dur=');
      if (name && duration) phases.set(name, [...(phases.get(name) ?? []), Number(duration)]);
    }
  };
  const direct = async () => {
    const res = await fetch(`${mock.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: message }],
        max_completion_tokens: 600,
      }),
    });
    await res.arrayBuffer();
  };

  // Warm up both paths (JIT, connection pools, Deno module cache).
  await load(4, 10, viaFunction);
  await load(4, 10, direct);

  const overhead: Record<string, unknown>[] = [];
  const phaseMedians: Record<string, Record<string, number>> = {};
  for (const clients of CONCURRENCY) {
    phases.clear();
    const perClient = Math.max(5, Math.round((REQUESTS_PER_CLIENT * 16) / Math.max(clients, 4)));
    const fn = distribution(await load(clients, perClient, viaFunction));
    phaseMedians[clients] = Object.fromEntries(
      [...phases].map(([name, samples]) => [name, round(distribution(samples).p50)]),
    );
    const base = distribution(await load(clients, perClient, direct));
    overhead.push({
      clients,
      requests: fn.count,
      function: { p50: round(fn.p50), p95: round(fn.p95), p99: round(fn.p99) },
      direct: { p50: round(base.p50), p95: round(base.p95), p99: round(base.p99) },
      overhead: {
        p50: round(fn.p50 - base.p50),
        p95: round(fn.p95 - base.p95),
        p99: round(fn.p99 - base.p99),
      },
    });
  }

  // Rate limiter: check_rate_limit in parallel over many users for a few seconds.
  const users = await Promise.all(
    Array.from({ length: 32 }, (_, i) => ensureUser(db, `bench-${i}@example.com`)),
  );
  const limiterSql = (await import('postgres')).default(databaseUrl, { max: 16, prepare: false });
  let checks = 0;
  const deadline = performance.now() + RATE_LIMIT_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 32 }, async (_, worker) => {
      const userId = users[worker % users.length]?.id as string;
      while (performance.now() < deadline) {
        await limiterSql`select request_count from public.check_rate_limit(${userId}, 'bench', 60)`;
        checks += 1;
      }
    }),
  );
  await limiterSql.end();
  const checksPerSecond = Math.round(checks / RATE_LIMIT_SECONDS);

  // The Langfuse sync over 10,000 pending scores.
  const SYNC_SCORES = 10_000;
  await db`delete from public.langfuse_traces`;
  await db`
    with traces as (
      insert into public.langfuse_traces (trace_id, entity_type, entity_id, user_id, input, output, metadata, tags)
      select gen_random_uuid(), 'ai_coach_message', gen_random_uuid(), ${user.id}, ${message}, 'Start small.',
             '{"provider":"openai","model":"gpt-4o-mini","latency_ms":800,"input_tokens":95,"output_tokens":34,"total_tokens":129,"cost_usd":0.0000346,"usage_source":"provider","status":"success"}',
             array['ai-coach', 'openai']
      from generate_series(1, ${SYNC_SCORES / 4})
      returning trace_id
    )
    insert into public.langfuse_scores (trace_id, score_name, value)
    select trace_id, name, 1 from traces
    cross join unnest(array['user_feedback', 'mission_completed', 'next_day_activity', 'weekly_completion_rate']) as name
  `;
  const langfuse = await startLangfuseServer();
  const syncConfig = loadSyncConfig({
    LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
    LANGFUSE_SECRET_KEY: langfuse.secretKey,
    LANGFUSE_BASE_URL: langfuse.url,
    SYNC_MAX_SCORES: String(SYNC_SCORES),
    SYNC_MAX_TRACES: String(SYNC_SCORES),
    SYNC_TIME_BUDGET_MS: '600000',
  });
  global.gc?.();
  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 5);
  const syncStarted = performance.now();
  const syncSummary = await runSync({
    sql: db,
    config: syncConfig,
    clock: { now: () => new Date() },
    langfuse: new LangfuseClient({
      publicKey: langfuse.publicKey,
      secretKey: langfuse.secretKey,
      baseUrl: langfuse.url,
    }),
  });
  const syncMs = performance.now() - syncStarted;
  clearInterval(sampler);
  const delivered = langfuse.scores.size;
  await langfuse.stop();
  const syncResult = {
    pendingScores: SYNC_SCORES,
    scoresSent: syncSummary.scoresSent,
    tracesExported: syncSummary.tracesExported,
    deliveredToLangfuse: delivered,
    seconds: round(syncMs / 1000),
    scoresPerMinute: Math.round((syncSummary.scoresSent / syncMs) * 60_000),
    peakRssMb: round(peakRss / 2 ** 20),
    rssGrowthMb: round((peakRss - baselineRss) / 2 ** 20),
  };

  await db.end();
  await server.stop();
  await mock.stop();

  // Analytics, in a database of its own.
  const analyticsUrl = withDatabase(cluster.adminUrl, 'bench_analytics');
  const analyticsAdmin = connect(cluster.adminUrl);
  await analyticsAdmin.unsafe('drop database if exists bench_analytics with (force)');
  await analyticsAdmin.unsafe('create database bench_analytics');
  await analyticsAdmin.end();
  const analyticsSql = connect(analyticsUrl);
  await bootstrapPlatform(analyticsSql);
  await migrateUp(analyticsUrl);
  const analytics = await benchAnalytics(
    analyticsSql,
    Number(process.env.BENCH_ANALYTICS_TRACES ?? 1_000_000),
  );
  await analyticsSql.end();
  await cluster.stop();

  console.log(
    `\nai-coach overhead over a direct call to the mock LLM (${MOCK_LATENCY_MS} ms fixed latency), ms\n`,
  );
  console.log(
    '| clients | requests | function p50 | p95 | p99 | direct p50 | p95 | p99 | overhead p50 | p95 | p99 |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of overhead as {
    clients: number;
    requests: number;
    function: Distribution;
    direct: Distribution;
    overhead: Distribution;
  }[]) {
    const cells = [row.function, row.direct, row.overhead].flatMap((d) => [d.p50, d.p95, d.p99]);
    console.log(`| ${row.clients} | ${row.requests} | ${cells.join(' | ')} |`);
  }
  console.log('\nfunction phases, p50 ms (Server-Timing):\n');
  for (const [clients, medians] of Object.entries(phaseMedians)) {
    console.log(
      `  ${clients.padStart(2)} clients: ${Object.entries(medians)
        .map(([name, ms]) => `${name} ${ms}`)
        .join(', ')}`,
    );
  }
  console.log(`\nrate-limiter checks per second (32 workers, pool of 16): ${checksPerSecond}\n`);

  console.log(
    'Langfuse sync, one pass (local Langfuse server; traces exported in the same pass):\n',
  );
  console.log(
    '| pending scores | sent | traces exported | seconds | scores per minute | peak RSS MB | RSS growth MB |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(
    `| ${syncResult.pendingScores} | ${syncResult.scoresSent} | ${syncResult.tracesExported} | ${syncResult.seconds} | ${syncResult.scoresPerMinute} | ${syncResult.peakRssMb} | ${syncResult.rssGrowthMb} |\n`,
  );

  console.log(
    `Analytics over ${analytics.traces.toLocaleString('en')} traces (generated in ${analytics.generateSeconds} s):\n`,
  );
  console.log('| query | p50 ms | max ms | rows |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| daily usage, last 30 days (daily_usage_rollup) | ${analytics.dailyUsage30dMs.p50} | ${analytics.dailyUsage30dMs.max} | ${analytics.dailyUsage30dMs.rows} |`,
  );
  console.log(
    `| one user's monthly cost (monthly_user_costs) | ${analytics.userMonthlyCostMs.p50} | ${analytics.userMonthlyCostMs.max} | ${analytics.userMonthlyCostMs.rows} |`,
  );
  console.log(
    `\nrollup: ${analytics.rollup.traces} traces folded in ${analytics.rollup.seconds} s, ${analytics.rollup.rowsPerSecond} per second (batches of 10,000)`,
  );
  console.log(
    `cleanup: ${analytics.cleanup.deleted} traces in ${analytics.cleanup.seconds} s, ${analytics.cleanup.rowsPerSecond} rows per second (batches of 5,000)\n`,
  );

  const outDir = join(projectRoot, 'bench-results');
  await mkdir(outDir, { recursive: true });
  await writeFile(
    join(outDir, 'bench.json'),
    `${JSON.stringify({ date: new Date().toISOString(), mockLatencyMs: MOCK_LATENCY_MS, overhead, phaseMedians, rateLimiter: { checksPerSecond }, langfuseSync: syncResult, analytics }, null, 2)}\n`,
  );
  console.log('wrote bench-results/bench.json');
});
