/**
 * The phases of `npm run chaos`: what each one breaks and repairs, and how a
 * phase runs: load through the fault and after it, the requests finished,
 * the background writes settled, then everything counted.
 */
import type { LangfuseServer } from '../../local/langfuse/server.ts';
import type { MockLlm } from '../../local/mock-llm.ts';
import type { ClusterControl } from '../../local/postgres/throwaway-cluster.ts';
import { connect } from '../../local/tooling/connect.ts';
import { type LlmMeter, lastUserMessage } from './llm-meter.ts';
import {
  type ChaosRequest,
  type LoadStage,
  type LoadTarget,
  openLoop,
  phaseTag,
  sleep,
} from './load.ts';
import {
  type Dependency,
  type LatencyBounds,
  type PhaseRecords,
  type PhaseRow,
  type PhaseTargets,
  phaseRow,
  phaseTargets,
  readPhaseRecords,
} from './report.ts';
import { problemsBetween, type ServerLog } from './server-log.ts';
import type { ChaosOptions } from './settings.ts';

export interface ChaosPhase {
  slug: string;
  name: string;
  dependency: Dependency;
  fault?: { apply(): Promise<void>; restore(): Promise<void> };
}

export function chaosPhases(
  postgres: ClusterControl,
  llm: MockLlm,
  langfuse: { server: LangfuseServer; slowMs: number },
): ChaosPhase[] {
  const llmFault = (change: Partial<MockLlm['behavior']>) => ({
    apply: async () => void Object.assign(llm.behavior, change),
    restore: async () => void Object.assign(llm.behavior, { hang: false, failure: null }),
  });
  const langfuseFault = (change: Partial<LangfuseServer['faults']>) => ({
    apply: async () => void Object.assign(langfuse.server.faults, change),
    restore: async () => void Object.assign(langfuse.server.faults, { delayMs: 0, silent: false }),
  });
  return [
    { slug: 'baseline', name: 'baseline', dependency: 'none' },
    {
      slug: 'postgres-stopped',
      name: 'postgres stopped',
      dependency: 'postgres',
      fault: { apply: () => postgres.halt(), restore: () => postgres.start() },
    },
    {
      slug: 'postgres-frozen',
      name: 'postgres frozen',
      dependency: 'postgres',
      fault: { apply: () => postgres.pause(), restore: () => postgres.resume() },
    },
    { slug: 'llm-hangs', name: 'llm hangs', dependency: 'llm', fault: llmFault({ hang: true }) },
    {
      slug: 'llm-500',
      name: 'llm 500',
      dependency: 'llm',
      fault: llmFault({ failure: { status: 500 } }),
    },
    {
      slug: 'llm-429',
      name: 'llm 429 long Retry-After',
      dependency: 'llm',
      fault: llmFault({ failure: { status: 429, retryAfterSeconds: 120 } }),
    },
    {
      // Slower than the database's idle-in-transaction limit, faster than LANGFUSE_TIMEOUT_MS.
      slug: 'langfuse-slow',
      name: `langfuse slow (${langfuse.slowMs / 1000} s a request)`,
      dependency: 'langfuse',
      fault: langfuseFault({ delayMs: langfuse.slowMs }),
    },
    {
      slug: 'langfuse-silent',
      name: 'langfuse silent',
      dependency: 'langfuse',
      fault: langfuseFault({ silent: true }),
    },
  ];
}

/** Background work (trace writes and their retries) is done when the counts stop moving. */
const SETTLE_MIN_MS = 2000;
const SETTLE_MAX_MS = 15_000;

async function settledRecords(
  databaseUrl: string,
  tag: string,
  signal: AbortSignal,
): Promise<PhaseRecords> {
  const sql = connect(databaseUrl);
  try {
    const giveUpAt = performance.now() + SETTLE_MAX_MS;
    await sleep(SETTLE_MIN_MS, signal);
    let previous = '';
    for (;;) {
      const records = await readPhaseRecords(sql, tag);
      const counts = `${records.repliesStored}/${records.traces.length}`;
      if (counts === previous || performance.now() > giveUpAt) return records;
      previous = counts;
      await sleep(1000, signal);
    }
  } finally {
    await sql.end();
  }
}

export interface PhaseResult {
  phase: string;
  slug: string;
  dependency: Dependency;
  row: PhaseRow;
  targets: PhaseTargets;
  serverProblems: Record<string, number>;
  requests: ChaosRequest[];
  /** performance.now() when the phase started and when it was counted. */
  window: { from: number; to: number };
}

export async function runPhase(
  phase: ChaosPhase,
  run: {
    options: ChaosOptions;
    target: LoadTarget;
    databaseUrl: string;
    mock: MockLlm;
    meter: LlmMeter;
    serverLog: ServerLog;
    bounds: LatencyBounds;
  },
): Promise<PhaseResult> {
  const { options, target } = run;
  const tag = phaseTag(phase.slug);
  console.log(`\n▶ ${phase.name}`);
  const startedAt = performance.now();
  let stage: LoadStage = 'steady';
  const { leadInSeconds, phaseSeconds, recoverySeconds } = options;
  // One open loop across lead-in, fault and recovery: the load never pauses for the fault.
  const loading = openLoop(target, {
    phaseSlug: phase.slug,
    rate: options.rate,
    seconds: phase.fault ? leadInSeconds + phaseSeconds + recoverySeconds : options.baselineSeconds,
    phaseStartedAt: startedAt,
    firstIndex: 1,
    stage: () => stage,
  });
  if (phase.fault) {
    await sleep(leadInSeconds * 1000, target.interrupted);
    // Strike while the functions wait on an LLM call (paid for, not yet stored), when there is
    // one within a second: what becomes of that call's reply and trace is the question.
    const giveUpAt = performance.now() + 1000;
    while (run.meter.inFlight() === 0 && performance.now() < giveUpAt) {
      await sleep(5, target.interrupted);
    }
    const faultAt = performance.now();
    stage = 'fault';
    await phase.fault.apply();
    await sleep(phaseSeconds * 1000 - (performance.now() - faultAt), target.interrupted);
    await phase.fault.restore();
    stage = 'recovery';
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `  broken at ${seconds(faultAt - startedAt)}, restored at ${seconds(performance.now() - startedAt)}`,
    );
  }
  const requests = await Promise.all(await loading);
  console.log(`  ${requests.length} requests answered or timed out; waiting for background work`);
  const records = await settledRecords(run.databaseUrl, tag, target.interrupted);
  const countedAt = performance.now();
  const row = phaseRow({
    phase: phase.name,
    tag,
    requests,
    mockMessages: run.mock.requests.map((request) => lastUserMessage(request.body)),
    meteredCalls: run.meter.calls,
    records,
    logLines: run.serverLog.lines.filter((line) => line.at >= startedAt && line.at < countedAt),
  });
  const targets = phaseTargets(row, phase.dependency, run.bounds);
  console.log(
    `  ${Object.entries(row.outcomes)
      .filter(([, count]) => count > 0)
      .map(([outcome, count]) => `${outcome}: ${count}`)
      .join(
        ', ',
      )}; max ${row.latencyMs.max} ms; counted after ${((countedAt - startedAt) / 1000).toFixed(1)} s`,
  );
  return {
    phase: phase.name,
    slug: phase.slug,
    dependency: phase.dependency,
    row,
    targets,
    serverProblems: problemsBetween(run.serverLog.lines, startedAt, countedAt),
    requests,
    window: { from: startedAt, to: countedAt },
  };
}

export function printProblems(results: PhaseResult[]): void {
  console.log('\nServer log, errors and warnings by message:');
  for (const result of results) {
    const entries = Object.entries(result.serverProblems);
    const text = entries.length ? entries.map(([msg, n]) => `${n} × ${msg}`).join('; ') : 'none';
    console.log(`  ${result.phase}: ${text}`);
  }
}
