/**
 * The peer part's numbers (bench/peer.ts): one row per client count
 * with each path's latency, the two overheads over the direct path, their
 * ratio, the 1.5x target's verdict and the CPU of every process per request;
 * and the tables `npm run bench` prints from them.
 */
import { type Distribution, markdownTable, overheadOf, round } from './stats.ts';

/** ai-coach's overhead may be at most this many times Portkey's, at p50 and p99. */
export const TARGET_RATIO = 1.5;
/** The client counts the target is judged at. */
export const TARGET_CLIENTS = [16, 64];

export type Overhead = Omit<Distribution, 'count'>;
export type Verdict = 'PASS' | 'FAIL';

/** CPU ms per request of a path, by process; null where /proc is missing. */
export interface CpuByProcess {
  deno: number;
  postgres: number;
  portkey: number;
  mockLlm: number;
  loadGenerator: number;
  /** Every process of the machine: less the five above, what others took meanwhile. */
  machine: number;
}

export interface PeerRow {
  clients: number;
  requestsPerPath: number;
  latency: { direct: Distribution; portkey: Distribution; aiCoach: Distribution };
  /** The path's percentile minus the direct path's. */
  overhead: { portkey: Overhead; aiCoach: Overhead };
  /** ai-coach's overhead over Portkey's; null where Portkey's is 0 or less (within the noise). */
  ratio: { p50: number | null; p95: number | null; p99: number | null };
  /** ai-coach's overhead at most TARGET_RATIO times Portkey's; judged at TARGET_CLIENTS only. */
  target: { p50: Verdict; p99: Verdict } | null;
  cpuPerRequest: {
    direct: CpuByProcess | null;
    portkey: CpuByProcess | null;
    aiCoach: CpuByProcess | null;
  };
}

interface MeasuredPath {
  latency: Distribution;
  cpu: Record<string, number> | null;
}

const ratioOf = (aiCoach: number, portkey: number) =>
  portkey > 0 ? round(aiCoach / portkey) : null;
const verdict = (aiCoach: number, portkey: number): Verdict =>
  aiCoach <= TARGET_RATIO * portkey ? 'PASS' : 'FAIL';

export function peerRow(
  clients: number,
  direct: MeasuredPath,
  portkey: MeasuredPath,
  aiCoach: MeasuredPath,
): PeerRow {
  const overhead = {
    portkey: overheadOf(portkey.latency, direct.latency),
    aiCoach: overheadOf(aiCoach.latency, direct.latency),
  };
  return {
    clients,
    requestsPerPath: aiCoach.latency.count,
    latency: { direct: direct.latency, portkey: portkey.latency, aiCoach: aiCoach.latency },
    overhead,
    ratio: {
      p50: ratioOf(overhead.aiCoach.p50, overhead.portkey.p50),
      p95: ratioOf(overhead.aiCoach.p95, overhead.portkey.p95),
      p99: ratioOf(overhead.aiCoach.p99, overhead.portkey.p99),
    },
    target: TARGET_CLIENTS.includes(clients)
      ? {
          p50: verdict(overhead.aiCoach.p50, overhead.portkey.p50),
          p99: verdict(overhead.aiCoach.p99, overhead.portkey.p99),
        }
      : null,
    cpuPerRequest: {
      direct: direct.cpu as CpuByProcess | null,
      portkey: portkey.cpu as CpuByProcess | null,
      aiCoach: aiCoach.cpu as CpuByProcess | null,
    },
  };
}

const percentiles = (d: Omit<Distribution, 'count'>) => [d.p50, d.p95, d.p99];

/** A reference path of the same rounds (see bench/peer.ts). */
export interface ReferenceRow {
  clients: number;
  path: string;
  overhead: Overhead;
  cpuPerRequest: Record<string, number> | null;
}

/** What the budgets may cost ai-coach at p50 (issue 11), at BUDGET_COST_CLIENTS clients. */
export const BUDGET_COST_TARGET_MS = 0.3;
const BUDGET_COST_CLIENTS = 16;

/**
 * Whether the floor (the Deno proxy plus the two statements, without auth,
 * validation or SDK) itself meets the target in this run, at each judged
 * client count: where it does not, no ai-coach that keeps those two
 * statements can, and the run shows it.
 */
export function floorVerdicts(rows: PeerRow[], references: ReferenceRow[]): string[] {
  const lines: string[] = [];
  for (const row of rows) {
    if (!row.target) continue;
    const floor = references.find((ref) => ref.clients === row.clients && ref.path === 'floor');
    if (!floor) continue;
    const judged = (['p50', 'p99'] as const).map((p) => {
      const portkey = row.overhead.portkey[p];
      const ratio = portkey > 0 ? round(floor.overhead[p] / portkey, 2) : null;
      const over = ratio === null || ratio > TARGET_RATIO;
      return { p, ratio, over };
    });
    const over = judged.filter((j) => j.over).map((j) => j.p);
    lines.push(
      `the floor at ${row.clients} clients: ${judged.map((j) => `${j.ratio ?? 'n/a'}x at ${j.p}`).join(', ')} of Portkey's overhead; ${
        over.length === 0
          ? 'within the target'
          : `over ${TARGET_RATIO}x at ${over.join(' and ')}: out of reach in this run for any ai-coach that sends those statements`
      }`,
    );
  }
  return lines;
}

function printReferences(rows: PeerRow[], references: ReferenceRow[]): void {
  if (references.length === 0) return;
  console.log(
    "\nIn the same rounds: references, overhead over the direct path (ms) and CPU ms per request; ratio = overhead / Portkey's\n",
  );
  const portkeyOf = (clients: number) =>
    rows.find((row) => row.clients === clients)?.overhead.portkey;
  console.log(
    markdownTable(
      [
        'clients',
        'path',
        'p50',
        'p95',
        'p99',
        'ratio p50',
        'ratio p99',
        'Deno CPU',
        'Postgres CPU',
      ],
      references.map((ref) => {
        const portkey = portkeyOf(ref.clients);
        const ratio = (ours: number, theirs: number | undefined) =>
          theirs && theirs > 0 ? round(ours / theirs, 2) : null;
        return [
          ref.clients,
          ref.path,
          ...percentiles(ref.overhead),
          ratio(ref.overhead.p50, portkey?.p50),
          ratio(ref.overhead.p99, portkey?.p99),
          ref.cpuPerRequest?.deno ?? null,
          ref.cpuPerRequest?.postgres ?? null,
        ];
      }),
    ),
  );
  for (const line of floorVerdicts(rows, references)) console.log(line);
  for (const row of rows) {
    const at = (path: string) =>
      references.find((ref) => ref.clients === row.clients && ref.path === path)?.overhead.p50;
    const off = at('budgets-off');
    if (off === undefined) continue;
    const cost = round(row.overhead.aiCoach.p50 - off, 2);
    const judged = row.clients === BUDGET_COST_CLIENTS;
    console.log(
      `budgets at ${row.clients} clients: ${cost} ms at p50 (ai-coach with budgets minus without)${judged ? `; target <= ${BUDGET_COST_TARGET_MS} ms: ${cost <= BUDGET_COST_TARGET_MS ? 'PASS' : 'FAIL'}` : ''}`,
    );
    const [floor, none, minimal] = [at('floor'), at('floor-no-budget'), at('floor-min-budget')];
    if (none === undefined) continue;
    const onFloor = [
      floor !== undefined && `the budget as deployed ${round(floor - none, 2)} ms`,
      minimal !== undefined &&
        `the least an exact budget writes (a row at reserve, a row at settle) ${round(minimal - none, 2)} ms`,
    ].filter(Boolean);
    console.log(
      `  on the floor at ${row.clients} clients, over the floor without a budget: ${onFloor.join('; ')}`,
    );
  }
}

export function printPeer(result: {
  portkeyVersion: string;
  mockLatencyMs: number;
  env: Record<string, string>;
  rows: PeerRow[];
  references?: ReferenceRow[];
}): void {
  const env = Object.entries(result.env)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  console.log(
    `\nPeer: direct to the mock LLM (${result.mockLatencyMs} ms fixed latency), through Portkey's gateway ${result.portkeyVersion}, through ai-coach (${env}); latency ms\n`,
  );
  console.log(
    markdownTable(
      [
        'clients',
        'requests',
        'direct p50',
        'p95',
        'p99',
        'Portkey p50',
        'p95',
        'p99',
        'ai-coach p50',
        'p95',
        'p99',
      ],
      result.rows.map((row) => [
        row.clients,
        row.requestsPerPath,
        ...percentiles(row.latency.direct),
        ...percentiles(row.latency.portkey),
        ...percentiles(row.latency.aiCoach),
      ]),
    ),
  );
  console.log(
    `\nOverhead over the direct path, ms; ratio = ai-coach / Portkey; target: ratio <= ${TARGET_RATIO} at ${TARGET_CLIENTS.join(' and ')} clients\n`,
  );
  const cell = (value: number | null) => (value === null ? 'n/a' : value);
  console.log(
    markdownTable(
      [
        'clients',
        'Portkey p50',
        'p95',
        'p99',
        'ai-coach p50',
        'p95',
        'p99',
        'ratio p50',
        'p95',
        'p99',
        'target p50',
        'target p99',
      ],
      result.rows.map((row) => [
        row.clients,
        ...percentiles(row.overhead.portkey),
        ...percentiles(row.overhead.aiCoach),
        cell(row.ratio.p50),
        cell(row.ratio.p95),
        cell(row.ratio.p99),
        row.target?.p50 ?? '-',
        row.target?.p99 ?? '-',
      ]),
    ),
  );
  console.log('\nCPU ms per request of each path, by process\n');
  const cpuRows: (string | number | null)[][] = [];
  for (const row of result.rows) {
    for (const [path, cpu] of Object.entries(row.cpuPerRequest)) {
      const values = cpu
        ? [cpu.deno, cpu.postgres, cpu.portkey, cpu.mockLlm, cpu.loadGenerator]
        : [null, null, null, null, null];
      const total = cpu
        ? round(
            values.reduce<number>((sum, ms) => sum + (ms ?? 0), 0),
            3,
          )
        : null;
      const others = cpu && total !== null ? round(cpu.machine - total, 3) : null;
      cpuRows.push([row.clients, path, ...values, total, others]);
    }
  }
  console.log(
    markdownTable(
      [
        'clients',
        'path',
        'Deno',
        'Postgres',
        'Portkey (Node)',
        'mock LLM',
        'load generator',
        'total',
        'other processes',
      ],
      cpuRows,
    ),
  );
  const judged = result.rows.filter((row) => row.target);
  const verdicts = judged.flatMap((row) => [
    `${row.clients} clients p50 ${row.target?.p50}`,
    `p99 ${row.target?.p99}`,
  ]);
  const met =
    judged.length > 0 && judged.every((r) => r.target?.p50 === 'PASS' && r.target.p99 === 'PASS');
  console.log(
    `\n${TARGET_RATIO}x Portkey's overhead: ${verdicts.join(', ') || 'not judged (no row at 16 or 64 clients)'}; target ${met ? 'met' : 'not met'}`,
  );
  printReferences(result.rows, result.references ?? []);
}
