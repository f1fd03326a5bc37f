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
