/**
 * The peer part of `npm run bench` (issue 12): ai-coach's overhead against a
 * peer gateway's, measured in the same run. Three paths to the same mock LLM
 * (its own process, fixed latency), in alternating rounds at each client
 * count: straight to the mock, through Portkey's open-source AI gateway, and
 * through ai-coach as deployed (Deno functions server, pooler-safe). Target:
 * ai-coach's overhead at most 1.5x Portkey's at p50 and p99, at 16 and 64
 * clients. Each client is its own user (its own rate-limit and budget rows).
 *
 * References in the same rounds (BENCH_PEER_REFERENCES, all by default):
 *  - budgets-off: ai-coach with BUDGETS=off, so the budgets' cost is a
 *    difference within one run (issue 11: at most 0.3 ms at p50, 16 clients);
 *  - deno-proxy: a bare Deno proxy to the mock (bench/deno/floor.ts);
 *  - floor: that proxy plus the two statements ai-coach sends, nothing else:
 *    what this machine allows before any of the functions' own work;
 *  - floor-no-budget and floor-min-budget: the floor without the budget, and
 *    with only the least an exact budget must write (one row of the user's
 *    when it reserves, one when it settles): what budgets cost on the floor,
 *    and what no exact budget can cost less than;
 *  - floor-sdk: the floor with the LLM called through the official OpenAI
 *    SDK, as the functions call it: what the SDK costs over a plain fetch;
 *  - ai-coach-fetch: ai-coach as deployed but with the LLM called by a plain
 *    fetch instead of the SDK (bench/deno/coach-fetch.ts): what the
 *    SDK costs ai-coach itself.
 *
 * Portkey's gateway, @portkey-ai/gateway 1.15.2 (read from its build/start-server.js):
 *  - Started as `node build/start-server.js --port=N --headless` (no UI, no
 *    /log/stream). It has no host option and listens on every interface;
 *    bench/lib/portkey-gateway.ts makes it listen on 127.0.0.1 only.
 *  - Routing: `x-portkey-provider: openai`, `x-portkey-custom-host: <mock>/v1`
 *    (the OpenAI provider posts to `${custom host}/chat/completions`) and
 *    `Authorization: Bearer <key>` (the provider's key is that header less
 *    "Bearer "). A custom host must pass its SSRF check; 127.0.0.1 is in the
 *    default TRUSTED_CUSTOM_HOSTS (localhost, 127.0.0.1, ::1, host.docker.internal).
 *  - Per request at its defaults: header checks (provider, content type,
 *    custom host), body parsed and mapped to the provider's parameters,
 *    fetch to the provider (keep-alive), response parsed and mapped, response
 *    headers (trace id, cache status, retry count). Cache off (no
 *    x-portkey-cache header; REDIS_CONNECTION_STRING unset), no retries (no
 *    x-portkey-retry-count), no guardrails. On Node a logging middleware
 *    always clones each /v1 response and parses it (`res.clone().json()`) for
 *    the log UI's listeners, even headless with none connected: not
 *    switchable, part of its defaults, so it stays in.
 *  - Network: it reaches nothing at start (strace: no connect(), headless or
 *    not; HTTP_PROXY and HTTPS_PROXY are read but unused). Its postinstall
 *    (patch-package) is for its own build: not run (allowScripts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../local/free-port.ts';
import { startMockLlmProcess } from '../local/tooling/mock-llm-process.ts';
import { projectRoot } from '../local/tooling/project.ts';
import { type AiCoachBenchServer, startAiCoachBenchServer } from './lib/ai-coach-bench-server.ts';
import { benchUsers } from './lib/bench-users.ts';
import { cpuMs, machineBusyMs } from './lib/cpu.ts';
import { startBenchFunctionsServer } from './lib/functions-server.ts';
import { type PeerRow, peerRow, TARGET_RATIO } from './lib/peer-report.ts';
import { portkeyHeaders, startPortkeyGateway } from './lib/portkey-gateway.ts';
import { postgresCpuReader } from './lib/postmaster.ts';
import {
  benchPost,
  type Distribution,
  distribution,
  interleavedRounds,
  load,
  overheadOf,
} from './lib/stats.ts';

export const REFERENCES = [
  'budgets-off',
  'deno-proxy',
  'floor',
  'floor-no-budget',
  'floor-min-budget',
  'floor-sdk',
  'ai-coach-fetch',
] as const;
const FLOORS = ['floor', 'floor-no-budget', 'floor-min-budget', 'floor-sdk'] as const;
export type Reference = (typeof REFERENCES)[number];

/** A reference path's overhead over the direct one and its CPU, at one client count. */
export interface ReferenceResult {
  clients: number;
  path: Reference;
  overhead: Omit<Distribution, 'count'>;
  cpuPerRequest: Record<string, number> | null;
}

export interface PeerBench {
  portkeyVersion: string;
  mockLatencyMs: number;
  /** What ai-coach ran with: DB_PREPARE and DB_POOL_MAX. */
  env: Record<string, string>;
  rounds: number;
  /** ai-coach's overhead over Portkey's the target allows, at 16 and 64 clients. */
  targetRatio: number;
  rows: PeerRow[];
  references: ReferenceResult[];
}

const MESSAGE = 'I keep skipping my morning run. Any advice?';
const LLM_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: MESSAGE }],
  max_completion_tokens: 600,
});
const COACH_BODY = JSON.stringify({ message: MESSAGE });

async function post(url: string, headers: Record<string, string>, body: string): Promise<void> {
  await (await benchPost(url, headers, body)).arrayBuffer();
}

function portkeyVersion(): string {
  const file = join(projectRoot, 'node_modules', '@portkey-ai', 'gateway', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function positiveIntegers(name: string, text: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < 1)) {
    throw new Error(`${name} must be whole numbers of 1 or more, comma-separated, not "${text}"`);
  }
  return values;
}

/**
 * The part's settings: BENCH_PEER_CLIENTS (1,16,64), BENCH_PEER_ROUNDS (4),
 * BENCH_PEER_REQUESTS_PER_CLIENT (BENCH_REQUESTS_PER_CLIENT, 80: with 4 rounds
 * about 1,300 requests a path at 16 and 64 clients, 320 at 1), BENCH_MOCK_LATENCY_MS (50).
 */
export function peerSettings(env: NodeJS.ProcessEnv = process.env) {
  const one = (name: string, fallback: string) =>
    positiveIntegers(name, env[name] ?? fallback)[0] as number;
  return {
    concurrency: positiveIntegers('BENCH_PEER_CLIENTS', env.BENCH_PEER_CLIENTS ?? '1,16,64'),
    rounds: one('BENCH_PEER_ROUNDS', '4'),
    requestsPerClient: one('BENCH_PEER_REQUESTS_PER_CLIENT', env.BENCH_REQUESTS_PER_CLIENT ?? '80'),
    mockLatencyMs: Number(env.BENCH_MOCK_LATENCY_MS ?? 50),
    references: (env.BENCH_PEER_REFERENCES ?? REFERENCES.join(','))
      .split(',')
      .map((name) => name.trim())
      .filter((name): name is Reference => (REFERENCES as readonly string[]).includes(name)),
  };
}

export async function benchPeer(
  databaseUrl: string,
  options: {
    /** ai-coach's settings as deployed through the pooler: DB_PREPARE=false, the default DB_POOL_MAX. */
    env: Record<string, string>;
    mockLatencyMs: number;
    concurrency: number[];
    /** Requests per client at 16 clients over all rounds; scaled so each row has about as many. */
    requestsPerClient: number;
    rounds: number;
    references: Reference[];
  },
): Promise<PeerBench> {
  const maxClients = Math.max(...options.concurrency);
  const mock = await startMockLlmProcess({ latencyMs: options.mockLatencyMs });
  const stops: (() => Promise<void>)[] = [() => mock.stop()];
  try {
    const portkey = await startPortkeyGateway({ port: await freePort() });
    stops.unshift(() => portkey.stop());
    const aiCoach = await startAiCoachBenchServer(databaseUrl, {
      llmBaseUrl: mock.openaiBaseUrl,
      env: options.env,
      users: maxClients,
    });
    stops.unshift(() => aiCoach.stop());

    const wants = new Set(options.references);
    const budgetsOff = wants.has('budgets-off')
      ? await startAiCoachBenchServer(databaseUrl, {
          llmBaseUrl: mock.openaiBaseUrl,
          env: { ...options.env, BUDGETS: 'off' },
          users: maxClients,
        })
      : null;
    if (budgetsOff) stops.unshift(() => budgetsOff.stop());
    const coachFetch = wants.has('ai-coach-fetch')
      ? await startAiCoachBenchServer(databaseUrl, {
          llmBaseUrl: mock.openaiBaseUrl,
          env: options.env,
          users: maxClients,
          script: join(projectRoot, 'bench', 'deno', 'coach-fetch.ts'),
        })
      : null;
    if (coachFetch) stops.unshift(() => coachFetch.stop());
    const floorServer =
      wants.has('deno-proxy') || FLOORS.some((floor) => wants.has(floor))
        ? await startBenchFunctionsServer({
            port: await freePort(),
            script: join(projectRoot, 'bench', 'deno', 'floor.ts'),
            env: {
              SUPABASE_DB_URL: databaseUrl,
              OPENAI_BASE_URL: mock.openaiBaseUrl,
              BENCH_USER_IDS: (await benchUsers(databaseUrl, maxClients)).join(','),
              ...(options.env.DB_POOL_MAX ? { DB_POOL_MAX: options.env.DB_POOL_MAX } : {}),
            },
            onLog: () => {},
          })
        : null;
    if (floorServer) stops.unshift(() => floorServer.stop());

    const denoPids = [aiCoach, budgetsOff, coachFetch]
      .map((server) => server?.server.process.pid)
      .concat(floorServer?.process.pid)
      .filter((pid): pid is number => pid !== undefined);
    const pids = { portkey: portkey.pid };
    const postgresCpu = await postgresCpuReader(databaseUrl);
    const cpu = async () => {
      const [deno, postgres, portkeyNode, mockLlm] = await Promise.all([
        // Every Deno server of the run: each path's share is what its requests added.
        Promise.all(denoPids.map((pid) => cpuMs({ pid }))).then((all) =>
          all.some((ms) => ms === null)
            ? null
            : all.reduce<number>((sum, ms) => sum + (ms ?? 0), 0),
        ),
        postgresCpu(),
        cpuMs({ pid: pids.portkey }),
        cpuMs({ pid: mock.pid }),
      ]);
      const self = process.cpuUsage();
      const loadGenerator = (self.user + self.system) / 1000;
      return {
        deno,
        postgres,
        portkey: portkeyNode,
        mockLlm,
        loadGenerator,
        machine: machineBusyMs(),
      };
    };
    const directHeaders = { 'content-type': 'application/json', authorization: 'Bearer bench' };
    const viaPortkey = portkeyHeaders(mock.openaiBaseUrl, 'bench');
    // A coach server's path: each client posts as its own user, with that user's token.
    const coachPath = (name: string, server: AiCoachBenchServer) => {
      const headers = server.tokens.map((token) => ({
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
      }));
      const url = `${server.server.url}/functions/v1/ai-coach`;
      return {
        name,
        request: (client: number) =>
          post(url, headers[client] as Record<string, string>, COACH_BODY),
        cpu,
      };
    };
    const paths = [
      {
        name: 'direct',
        request: () => post(`${mock.openaiBaseUrl}/chat/completions`, directHeaders, LLM_BODY),
        cpu,
      },
      {
        name: 'portkey',
        request: () => post(`${portkey.url}/v1/chat/completions`, viaPortkey, LLM_BODY),
        cpu,
      },
      coachPath('aiCoach', aiCoach),
      ...(budgetsOff ? [coachPath('budgets-off', budgetsOff)] : []),
      ...(coachFetch ? [coachPath('ai-coach-fetch', coachFetch)] : []),
      ...(floorServer && wants.has('deno-proxy')
        ? [
            {
              name: 'deno-proxy',
              request: () => post(`${floorServer.url}/proxy`, directHeaders, LLM_BODY),
              cpu,
            },
          ]
        : []),
      ...FLOORS.filter((floor) => floorServer && wants.has(floor)).map((floor) => ({
        name: floor,
        request: (client: number) =>
          post(
            `${floorServer?.url}/${floor}`,
            { ...directHeaders, 'x-bench-client': String(client) },
            LLM_BODY,
          ),
        cpu,
      })),
    ];

    // Warm up every path (JIT, Deno's module cache); each round warms its own concurrency.
    for (const path of paths) await load(4, 10, path.request);
    const rows: PeerRow[] = [];
    const references: ReferenceResult[] = [];
    for (const clients of options.concurrency) {
      const perClient = Math.max(
        1,
        Math.round((options.requestsPerClient * 16) / Math.max(clients, 4) / options.rounds),
      );
      const measured = await interleavedRounds(
        { rounds: options.rounds, clients, perClient },
        paths,
      );
      const of = (name: string): { latency: Distribution; cpu: Record<string, number> | null } => ({
        latency: distribution(measured.get(name)?.samples ?? []),
        cpu: measured.get(name)?.cpuPerRequest ?? null,
      });
      rows.push(peerRow(clients, of('direct'), of('portkey'), of('aiCoach')));
      const direct = of('direct').latency;
      for (const path of options.references) {
        const measuredPath = of(path);
        references.push({
          clients,
          path,
          overhead: overheadOf(measuredPath.latency, direct),
          cpuPerRequest: measuredPath.cpu,
        });
      }
    }
    return {
      portkeyVersion: portkeyVersion(),
      mockLatencyMs: options.mockLatencyMs,
      env: options.env,
      rounds: options.rounds,
      targetRatio: TARGET_RATIO,
      rows,
      references,
    };
  } finally {
    for (const stop of stops) await stop();
  }
}
