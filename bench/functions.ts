/**
 * The functions part of `npm run bench`: what each Edge Function ships and
 * how long it takes to start. For each function, its bundle (`deno bundle`,
 * against its budget and the platform's 20 MB), and its cold start served
 * alone, as a hosted isolate serves it: a new Deno process loading only that
 * function, until its first answer (for a coach function a request without
 * a token, which still builds its dependencies and loads the LLM SDK). Deno's
 * transpile cache is warm (one unmeasured start first), as the platform runs
 * its pre-built bundle; the median of three starts.
 */
import { freePort } from '../local/free-port.ts';
import {
  BUNDLE_BUDGET_BYTES,
  bundleBytes,
  functionNames,
} from '../local/tooling/function-bundles.ts';
import { createKeys, platformEnv } from '../local/tooling/keys.ts';
import { startBenchFunctionsServer } from './lib/functions-server.ts';
import { percentile, round } from './lib/stats.ts';

export interface FunctionStart {
  name: string;
  bundleMb: number;
  budgetMb: number;
  /** From spawning Deno until it listens: the function's modules loaded. */
  loadMs: number;
  /** From spawning Deno until the first answer. */
  firstAnswerMs: number;
}

const PLATFORM_LIMIT_MB = 20;
const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

async function coldStart(
  name: string,
  env: Record<string, string>,
): Promise<{ loadMs: number; firstAnswerMs: number }> {
  const port = await freePort();
  const started = performance.now();
  const server = await startBenchFunctionsServer({
    port,
    // An empty name serves no function (FUNCTIONS lists none).
    env: { ...env, FUNCTIONS: name || 'none' },
    onLog: () => {},
  });
  const loadMs = performance.now() - started;
  if (!name) {
    await server.stop();
    return { loadMs, firstAnswerMs: loadMs };
  }
  try {
    const method = name === 'langfuse-sync' || name === 'feedback' ? 'POST' : 'GET';
    const res = await fetch(`${server.url}/functions/v1/${name}`, { method });
    await res.arrayBuffer();
    return { loadMs, firstAnswerMs: performance.now() - started };
  } finally {
    await server.stop();
  }
}

export async function benchFunctions(databaseUrl: string): Promise<{
  platformLimitMb: number;
  rows: FunctionStart[];
}> {
  const keys = await createKeys();
  const env = {
    ...platformEnv(keys, 'http://127.0.0.1:1', databaseUrl),
    LLM_PROVIDER: 'openai',
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: 'http://127.0.0.1:1/v1',
  };
  const rows: FunctionStart[] = [];
  // The reference: Deno and the server with no function at all.
  await coldStart('', env);
  const bare = [];
  for (let i = 0; i < 3; i += 1) bare.push((await coldStart('', env)).loadMs);
  rows.push({
    name: '(none: Deno and the server alone)',
    bundleMb: 0,
    budgetMb: 0,
    loadMs: round(median(bare), 0),
    firstAnswerMs: 0,
  });
  for (const name of await functionNames()) {
    const bytes = await bundleBytes(name);
    await coldStart(name, env); // transpile cache
    const starts = [];
    for (let i = 0; i < 3; i += 1) starts.push(await coldStart(name, env));
    rows.push({
      name,
      bundleMb: round(bytes / 1_000_000),
      budgetMb: round((BUNDLE_BUDGET_BYTES[name] ?? 0) / 1_000_000),
      loadMs: round(median(starts.map((s) => s.loadMs)), 0),
      firstAnswerMs: round(median(starts.map((s) => s.firstAnswerMs)), 0),
    });
  }
  return { platformLimitMb: PLATFORM_LIMIT_MB, rows };
}
