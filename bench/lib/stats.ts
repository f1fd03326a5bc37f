/** Small statistics and load helpers shared by the benchmark parts. */

export interface Distribution {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

export const round = (value: number, digits = 2): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

export function distribution(samples: number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    count: sorted.length,
  };
}

/** How much slower `path` is than `base`, percentile by percentile. */
export function overheadOf(path: Distribution, base: Distribution): Omit<Distribution, 'count'> {
  return {
    p50: round(path.p50 - base.p50),
    p95: round(path.p95 - base.p95),
    p99: round(path.p99 - base.p99),
  };
}

/**
 * A connection kept alive by the load generator and closed by a Node server
 * (the mock, Portkey: 5 s idle) just as it is reused: the request never
 * reached the server. Node's fetch sends again only idempotent methods.
 */
const closedWhileIdle = (error: Error) =>
  (error.cause as { code?: string } | undefined)?.code === 'UND_ERR_SOCKET' &&
  /other side closed/.test(String(error.cause));

/**
 * A benchmark's POST: sent again once when a Node server closed its
 * kept-alive connection as it was reused; any other failure names its cause.
 * The answer must be 200.
 */
export async function benchPost(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<Response> {
  const send = () => fetch(url, { method: 'POST', headers, body });
  const res = await send()
    .catch((error: Error) => (closedWhileIdle(error) ? send() : Promise.reject(error)))
    .catch((error: Error) => {
      throw new Error(`${url}: ${error.message} (${String(error.cause)})`);
    });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return res;
}

/** Runs `clients` loops of `perClient` sequential requests; returns each request's latency in ms. */
export async function load(
  clients: number,
  perClient: number,
  request: (client: number) => Promise<void>,
): Promise<number[]> {
  const samples: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = 0; i < perClient; i += 1) {
        const started = performance.now();
        await request(client);
        samples.push(performance.now() - started);
      }
    }),
  );
  return samples;
}

/** A Markdown table, columns right-aligned but the first. */
export function markdownTable(header: string[], rows: (string | number | null)[][]): string {
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map(
      (row) => `| ${row.map((cell) => (cell === null ? 'n/a' : String(cell))).join(' | ')} |`,
    ),
  ];
  return lines.join('\n');
}

export interface MeasuredPath {
  name: string;
  request: (client: number) => Promise<void>;
  /** CPU ms used so far by the processes worth charging, by name (null: unknown). */
  cpu?: () => Promise<Record<string, number | null>>;
}

export interface PathResult {
  samples: number[];
  /** CPU ms per request by process, or null when any reading was unknown. */
  cpuPerRequest: Record<string, number> | null;
}

/** Unmeasured requests each client sends to a path before each of its rounds. */
export const WARM_UP_PER_CLIENT = 1;

/**
 * Measures several paths in alternating rounds, so a slow spell of the
 * machine falls on all of them rather than on one. Before each of its
 * rounds a path is warmed at the round's concurrency, unmeasured, so that
 * every round measures a path under way, as under steady load, and none
 * pays for connections closed while the other paths ran: Node servers
 * close idle keep-alive connections after 5 s (the mock, Portkey and
 * Portkey's own to the mock), and the functions' Postgres pool closes its
 * connections after 20 s idle (reopening ten at once, at 16 clients, took
 * 200 to 380 ms here).
 */
export async function interleavedRounds(
  options: { rounds: number; clients: number; perClient: number },
  paths: MeasuredPath[],
): Promise<Map<string, PathResult>> {
  const samples = new Map<string, number[]>(paths.map((path) => [path.name, []]));
  const cpu = new Map<string, Record<string, number> | null>(paths.map((path) => [path.name, {}]));
  for (let round = 0; round < options.rounds; round += 1) {
    for (const path of paths) {
      await load(options.clients, WARM_UP_PER_CLIENT, path.request);
      const before = await path.cpu?.();
      samples
        .get(path.name)
        ?.push(...(await load(options.clients, options.perClient, path.request)));
      if (!path.cpu || !before) continue;
      // Let the last requests' background work land before reading CPU.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = await path.cpu();
      const total = cpu.get(path.name);
      for (const [name, end] of Object.entries(after)) {
        const start = before[name];
        if (!total || end === null || start === null || start === undefined) {
          cpu.set(path.name, null);
          break;
        }
        total[name] = (total[name] ?? 0) + end - start;
      }
    }
  }
  return new Map(
    paths.map((path) => {
      const pathSamples = samples.get(path.name) ?? [];
      const total = path.cpu ? cpu.get(path.name) : null;
      const cpuPerRequest = total
        ? Object.fromEntries(
            Object.entries(total).map(([name, ms]) => [name, round(ms / pathSamples.length, 3)]),
          )
        : null;
      return [path.name, { samples: pathSamples, cpuPerRequest }];
    }),
  );
}
