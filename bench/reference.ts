/**
 * The reference part of `npm run bench`: what this machine allows before any
 * of the functions' own work, at the same load and LLM latency as the
 * overhead part (bench/deno/floor.ts has the two servers):
 *
 *  - a bare Deno proxy to the mock LLM: one more HTTP hop through Deno;
 *  - the proxy plus the functions' two pooler-safe statements: the floor of
 *    any implementation of a rate-limited, stored, traced call on Postgres.
 */
import { join } from 'node:path';
import { freePort } from '../local/free-port.ts';
import { startMockLlmProcess } from '../local/tooling/mock-llm-process.ts';
import { projectRoot } from '../local/tooling/project.ts';
import { benchUsers } from './lib/bench-users.ts';
import { cpuMs } from './lib/cpu.ts';
import { startBenchFunctionsServer } from './lib/functions-server.ts';
import {
  benchPost,
  type Distribution,
  distribution,
  interleavedRounds,
  overheadOf,
} from './lib/stats.ts';

export interface ReferenceRow {
  name: string;
  latency: Distribution;
  /** Over the direct call to the mock LLM. */
  overhead: Omit<Distribution, 'count'>;
  /** CPU ms per request of the Deno server; null where /proc is missing. */
  denoCpuPerRequest: number | null;
}

export interface ReferenceBench {
  clients: number;
  mockLatencyMs: number;
  rows: ReferenceRow[];
}

export async function benchReference(
  databaseUrl: string,
  options: { mockLatencyMs: number; clients: number; requestsPerClient: number },
): Promise<ReferenceBench> {
  const mock = await startMockLlmProcess({ latencyMs: options.mockLatencyMs });
  const [userId] = await benchUsers(databaseUrl, 1);
  const server = await startBenchFunctionsServer({
    port: await freePort(),
    script: join(projectRoot, 'bench', 'deno', 'floor.ts'),
    env: {
      SUPABASE_DB_URL: databaseUrl,
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      BENCH_USER_IDS: userId as string,
    },
    onLog: () => {},
  });
  const body = JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'I keep skipping my morning run. Any advice?' }],
    max_completion_tokens: 600,
  });
  const post = (url: string) => async () => {
    const res = await benchPost(
      url,
      { 'content-type': 'application/json', authorization: 'Bearer bench' },
      body,
    );
    await res.arrayBuffer();
  };
  const denoCpu = async () => ({ deno: await cpuMs({ pid: server.process.pid as number }) });
  const paths = [
    {
      name: 'direct call to the mock LLM',
      request: post(`${mock.openaiBaseUrl}/chat/completions`),
    },
    { name: 'bare Deno proxy', request: post(`${server.url}/proxy`), cpu: denoCpu },
    {
      name: 'bare Deno proxy + the two statements',
      request: post(`${server.url}/floor`),
      cpu: denoCpu,
    },
  ];
  try {
    for (const path of paths) await path.request();
    const rounds = 4;
    const measured = await interleavedRounds(
      {
        rounds,
        clients: options.clients,
        perClient: Math.max(1, Math.round(options.requestsPerClient / rounds)),
      },
      paths,
    );
    const direct = distribution(measured.get(paths[0]?.name ?? '')?.samples ?? []);
    return {
      clients: options.clients,
      mockLatencyMs: options.mockLatencyMs,
      rows: paths.map(({ name }) => {
        const result = measured.get(name);
        const latency = distribution(result?.samples ?? []);
        return {
          name,
          latency,
          overhead: overheadOf(latency, direct),
          denoCpuPerRequest: result?.cpuPerRequest?.deno ?? null,
        };
      }),
    };
  } finally {
    await server.stop();
    await mock.stop();
  }
}
