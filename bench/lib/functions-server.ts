/**
 * The functions server (or another Deno script) as the benchmark and chaos
 * start it: BENCH_DENO_CPU_PROF=dir asks for a V8 CPU profile of the server,
 * written to that directory when it exits, to see where a request's time goes.
 */
import {
  type FunctionsServer,
  startFunctionsServer,
} from '../../local/tooling/functions-server.ts';

export type { FunctionsServer };

export function startBenchFunctionsServer(
  options: Parameters<typeof startFunctionsServer>[0],
): Promise<FunctionsServer> {
  const cpuProfileDir = process.env.BENCH_DENO_CPU_PROF;
  return startFunctionsServer({ ...options, ...(cpuProfileDir ? { cpuProfileDir } : {}) });
}
