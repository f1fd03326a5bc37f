/**
 * The ai-coach part of `npm run bench`: the same request through the function
 * (Deno server, JWT check, rate limit with the prompt's context, LLM, reply
 * and trace stored together) and straight to the mock LLM (in its own
 * process), at a fixed mock latency, in alternating rounds. Target on 2 cores:
 * overhead p50 <= 2 ms and p99 <= 10 ms at 16 clients.
 *
 * Besides latency it reports the median of each Server-Timing phase and the
 * CPU each process spent per function request, which is what decides the
 * tail once the 2 cores are shared by everything. Each client is its own user.
 */

import { startMockLlmProcess } from '../local/tooling/mock-llm-process.ts';
import { startAiCoachBenchServer } from './lib/ai-coach-bench-server.ts';
import { cpuMs } from './lib/cpu.ts';
import { postgresCpuReader } from './lib/postmaster.ts';
import {
  benchPost,
  type Distribution,
  distribution,
  interleavedRounds,
  load,
  overheadOf,
} from './lib/stats.ts';

export interface OverheadRow {
  clients: number;
  requests: number;
  function: Distribution;
  direct: Distribution;
  overhead: Omit<Distribution, 'count'>;
  /** Median ms of each Server-Timing phase of the function. */
  phases: Record<string, number>;
  /** CPU ms per function request, by process; null where /proc is missing. */
  cpuPerRequest: {
    functions: number | null;
    postgres: number | null;
    mockLlm: number | null;
    bench: number | null;
  };
}

export interface OverheadBench {
  /** What the functions ran with, such as the pooler-safe default or DB_PREPARE=true. */
  configuration: string;
  env: Record<string, string>;
  mockLatencyMs: number;
  rows: OverheadRow[];
}

const MESSAGE = 'I keep skipping my morning run. Any advice?';
const ROUNDS = 4;

async function cpuSnapshot(
  pids: { functions: number; mockLlm: number },
  postgresCpu: () => Promise<number | null>,
) {
  const [functions, postgres, mockLlm] = await Promise.all([
    cpuMs({ pid: pids.functions }),
    postgresCpu(),
    cpuMs({ pid: pids.mockLlm }),
  ]);
  const self = process.cpuUsage();
  return { functions, postgres, mockLlm, bench: (self.user + self.system) / 1000 };
}

export async function benchOverhead(
  databaseUrl: string,
  options: {
    configuration: string;
    /** Function settings on top of the benchmark's, such as DB_PREPARE. */
    env: Record<string, string>;
    mockLatencyMs: number;
    concurrency: number[];
    requestsPerClient: number;
    /** Each client continues one conversation instead of starting new ones. */
    conversation?: boolean;
  },
): Promise<OverheadBench> {
  const mock = await startMockLlmProcess({ latencyMs: options.mockLatencyMs });
  const aiCoach = await startAiCoachBenchServer(databaseUrl, {
    llmBaseUrl: mock.openaiBaseUrl,
    env: options.env,
    // A user per client, as concurrent callers are: with one user every call would queue on
    // that user's rate-limit and budget rows (locked by design), which is not the overhead.
    users: Math.max(...options.concurrency),
  });
  const { server } = aiCoach;
  const postgresCpu = await postgresCpuReader(databaseUrl);

  const phases = new Map<string, number[]>();
  // In a conversation, each client goes on with its own: the history is read
  // with the rate-limit count and goes into the prompt.
  const conversations = new Map<number, string>();
  const viaFunction = async (client: number) => {
    const conversationId = options.conversation ? conversations.get(client) : undefined;
    const res = await benchPost(
      `${server.url}/functions/v1/ai-coach`,
      {
        authorization: `Bearer ${aiCoach.tokens[client]}`,
        'content-type': 'application/json',
      },
      JSON.stringify({ message: MESSAGE, conversationId }),
    );
    const answer = (await res.json()) as { conversationId: string };
    if (options.conversation) conversations.set(client, answer.conversationId);
    for (const phase of (res.headers.get('server-timing') ?? '').split(', ')) {
      const [name, duration] = phase.split(';dur=');
      if (!name || !duration) continue;
      const samples = phases.get(name) ?? [];
      samples.push(Number(duration));
      phases.set(name, samples);
    }
  };
  const direct = async () => {
    const res = await benchPost(
      `${mock.openaiBaseUrl}/chat/completions`,
      { authorization: 'Bearer bench', 'content-type': 'application/json' },
      JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: MESSAGE }],
        max_completion_tokens: 600,
      }),
    );
    await res.arrayBuffer();
  };

  try {
    // Warm up both paths (JIT, connection pools, Deno module cache).
    await load(4, 10, viaFunction);
    await load(4, 10, direct);

    const rows: OverheadRow[] = [];
    const pids = { functions: server.process.pid as number, mockLlm: mock.pid };
    for (const clients of options.concurrency) {
      phases.clear();
      const perClient = Math.max(
        1,
        Math.round((options.requestsPerClient * 16) / Math.max(clients, 4) / ROUNDS),
      );
      const measured = await interleavedRounds({ rounds: ROUNDS, clients, perClient }, [
        { name: 'function', request: viaFunction, cpu: () => cpuSnapshot(pids, postgresCpu) },
        { name: 'direct', request: direct },
      ]);
      const fnResult = measured.get('function');
      const fn = distribution(fnResult?.samples ?? []);
      const base = distribution(measured.get('direct')?.samples ?? []);
      rows.push({
        clients,
        requests: fn.count,
        function: fn,
        direct: base,
        overhead: overheadOf(fn, base),
        phases: Object.fromEntries(
          [...phases].map(([name, samples]) => [name, distribution(samples).p50]),
        ),
        cpuPerRequest: {
          functions: fnResult?.cpuPerRequest?.functions ?? null,
          postgres: fnResult?.cpuPerRequest?.postgres ?? null,
          mockLlm: fnResult?.cpuPerRequest?.mockLlm ?? null,
          bench: fnResult?.cpuPerRequest?.bench ?? null,
        },
      });
    }
    return {
      configuration: options.configuration,
      env: options.env,
      mockLatencyMs: options.mockLatencyMs,
      rows,
    };
  } finally {
    await aiCoach.stop();
    await mock.stop();
  }
}
