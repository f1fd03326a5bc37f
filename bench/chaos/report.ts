/**
 * What `npm run chaos` counts after each phase, and how it prints: what the
 * users got (statuses, latency), what the LLM was asked and paid for, and
 * what the operator can still account for (replies, traces, error log lines).
 */
import type { Sql } from 'postgres';
import { mockReply } from '../../local/mock-llm.ts';
import { markdownTable, percentile, round } from '../lib/stats.ts';
import type { MeteredLlmCall } from './llm-meter.ts';
import { type ChaosRequest, OUTCOMES, type Outcome } from './load.ts';
import { isCompleteRecord, type ServerLogLine } from './server-log.ts';

/** What a phase breaks. The coach's answers do not wait on Langfuse: no latency target there. */
export type Dependency = 'none' | 'postgres' | 'llm' | 'langfuse';

/** What the database holds for a phase once its background work has settled. */
export interface PhaseRecords {
  repliesStored: number;
  traces: { traceId: string; message: string | null }[];
}

export interface PhaseRow {
  phase: string;
  requests: number;
  outcomes: Record<Outcome, number>;
  latencyMs: { p50: number; p99: number; max: number };
  /** Answers with `stored: false`: the user got a reply the database does not hold. */
  answeredNotStored: number;
  llmCalls: number;
  paidLlmCalls: number;
  repliesStored: number;
  tracesRecorded: number;
  paidWithoutRecord: number;
  /** Paid calls whose only record is an error log line (trace id and reply). */
  recordedOnlyInLog: number;
}

export type Verdict = 'PASS' | 'FAIL' | 'n/a' | 'no target';

export interface PhaseTargets {
  no500: Verdict;
  latency: { verdict: Verdict; maxMs: number; boundMs: number | null; setting: string | null };
  paidRecorded: Verdict;
}

const MESSAGE_IN_TEXT = /chaos [a-z0-9-]+ \d{5}/;

/** Replies stored and traces recorded whose text carries the phase's tag. */
export async function readPhaseRecords(sql: Sql, tag: string): Promise<PhaseRecords> {
  const pattern = `%${tag}%`;
  const [replies] = await sql<{ count: number }[]>`
    select count(*)::int as count from public.ai_coach_messages
    where role = 'assistant' and content like ${pattern}
  `;
  const traces = await sql<{ trace_id: string; input: string }[]>`
    select trace_id::text, input from public.langfuse_traces where input like ${pattern}
  `;
  return {
    repliesStored: replies?.count ?? 0,
    traces: traces.map((row) => ({
      traceId: row.trace_id,
      message: MESSAGE_IN_TEXT.exec(row.input)?.[0] ?? null,
    })),
  };
}

export function phaseRow(input: {
  phase: string;
  tag: string;
  requests: ChaosRequest[];
  /** Last user turns of the mock's logged requests, over the whole run. */
  mockMessages: string[];
  meteredCalls: MeteredLlmCall[];
  records: PhaseRecords;
  logLines: ServerLogLine[];
}): PhaseRow {
  const { tag, requests, records } = input;
  const outcomes = Object.fromEntries(OUTCOMES.map((name) => [name, 0])) as Record<Outcome, number>;
  for (const request of requests) outcomes[request.outcome] += 1;
  const sorted = requests.map((request) => request.latencyMs).sort((a, b) => a - b);

  const traceIdOfAnswer = new Map(requests.map((r) => [r.message, r.traceId]));
  const tracedMessages = new Set(records.traces.map((trace) => trace.message));
  const paidByMessage = new Map<string, number>();
  for (const call of input.meteredCalls) {
    if (call.status !== 200 || !call.lastUserMessage.startsWith(tag)) continue;
    paidByMessage.set(call.lastUserMessage, (paidByMessage.get(call.lastUserMessage) ?? 0) + 1);
  }
  const errorLines = input.logLines.filter((line) => line.entry?.level === 'error');
  let paidWithoutRecord = 0;
  let recordedOnlyInLog = 0;
  for (const [message, paidCalls] of paidByMessage) {
    if (tracedMessages.has(message)) continue;
    const reply = mockReply(message);
    const traceId = traceIdOfAnswer.get(message) ?? null;
    if (errorLines.some((line) => isCompleteRecord(line, reply, traceId))) {
      recordedOnlyInLog += paidCalls;
    } else {
      paidWithoutRecord += paidCalls;
    }
  }

  return {
    phase: input.phase,
    requests: requests.length,
    outcomes,
    latencyMs: {
      p50: round(percentile(sorted, 50), 0),
      p99: round(percentile(sorted, 99), 0),
      max: round(sorted.at(-1) ?? Number.NaN, 0),
    },
    answeredNotStored: requests.filter((request) => request.stored === false).length,
    llmCalls: input.mockMessages.filter((message) => message.startsWith(tag)).length,
    paidLlmCalls: [...paidByMessage.values()].reduce((sum, calls) => sum + calls, 0),
    repliesStored: records.repliesStored,
    tracesRecorded: records.traces.length,
    paidWithoutRecord,
    recordedOnlyInLog,
  };
}

/** The bound a phase's slowest answer is held to: the setting of the dependency it breaks. */
export interface LatencyBounds {
  postgres: { setting: string; ms: number } | null;
  llm: { setting: string; ms: number } | null;
}

/** Slack over the bound for the answer to travel and the error to be built. */
export const LATENCY_SLACK_MS = 1000;

export function phaseTargets(
  row: PhaseRow,
  dependency: Dependency,
  bounds: LatencyBounds,
): PhaseTargets {
  const bound = dependency === 'none' || dependency === 'langfuse' ? undefined : bounds[dependency];
  const boundMs = bound ? bound.ms + LATENCY_SLACK_MS : null;
  let latency: Verdict = 'no target';
  if (bound === null) latency = 'n/a';
  if (boundMs !== null) latency = row.latencyMs.max <= boundMs ? 'PASS' : 'FAIL';
  return {
    no500: row.outcomes['500'] === 0 ? 'PASS' : 'FAIL',
    latency: {
      verdict: latency,
      maxMs: row.latencyMs.max,
      boundMs,
      setting: bound?.setting ?? null,
    },
    paidRecorded: row.paidWithoutRecord === 0 ? 'PASS' : 'FAIL',
  };
}

export function rowsTable(rows: PhaseRow[]): string {
  return markdownTable(
    [
      'phase',
      'requests',
      ...OUTCOMES,
      'p50 ms',
      'p99 ms',
      'max ms',
      'LLM calls',
      'paid',
      'replies stored',
      'answered stored: false',
      'traces',
      'paid, no record',
      'record only in log',
    ],
    rows.map((row) => [
      row.phase,
      row.requests,
      ...OUTCOMES.map((name) => row.outcomes[name]),
      row.latencyMs.p50,
      row.latencyMs.p99,
      row.latencyMs.max,
      row.llmCalls,
      row.paidLlmCalls,
      row.repliesStored,
      row.answeredNotStored,
      row.tracesRecorded,
      row.paidWithoutRecord,
      row.recordedOnlyInLog,
    ]),
  );
}

function latencyCell(latency: PhaseTargets['latency']): string {
  if (latency.verdict === 'no target') return `no target (max ${latency.maxMs})`;
  if (latency.verdict === 'n/a') return `n/a: no deadline setting (max ${latency.maxMs})`;
  return `${latency.verdict} (max ${latency.maxMs} vs ${latency.boundMs}, ${latency.setting} + 1 s)`;
}

export function targetsTable(phases: { phase: string; targets: PhaseTargets }[]): string {
  return markdownTable(
    ['phase', 'no answer 500', 'max latency within the bound (ms)', 'every paid LLM call recorded'],
    phases.map(({ phase, targets }) => [
      phase,
      targets.no500,
      latencyCell(targets.latency),
      targets.paidRecorded,
    ]),
  );
}

/** One line: how many targets passed, and which failed. */
export function summaryLine(
  phases: { phase: string; row: PhaseRow; targets: PhaseTargets }[],
  sync: { phase: string; targets: { serverUp: Verdict; no500: Verdict } }[] = [],
  account: {
    targets: { allDelivered: Verdict; noneTwice: Verdict; runsEnded: Verdict };
  } | null = null,
): string {
  const failed: string[] = [];
  let passed = 0;
  let notApplicable = 0;
  const extra: [string, Verdict][] = [
    ...sync.flatMap(({ phase, targets }): [string, Verdict][] => [
      [`${phase}: the functions server stopped answering`, targets.serverUp],
      [`${phase}: langfuse-sync answered 500`, targets.no500],
    ]),
    ...(account
      ? ([
          ['Langfuse lacks what the database counts as sent', account.targets.allDelivered],
          ['something reached Langfuse twice', account.targets.noneTwice],
          ['a sync run row was never ended', account.targets.runsEnded],
        ] as [string, Verdict][])
      : []),
  ];
  for (const [description, verdict] of extra) {
    if (verdict === 'PASS') passed += 1;
    else if (verdict === 'FAIL') failed.push(description);
  }
  for (const { phase, row, targets } of phases) {
    const verdicts: [string, Verdict][] = [
      [`${phase}: ${row.outcomes['500']} answers 500`, targets.no500],
      [
        `${phase}: max ${targets.latency.maxMs} ms > ${targets.latency.boundMs} ms`,
        targets.latency.verdict,
      ],
      [`${phase}: ${row.paidWithoutRecord} paid LLM calls without a record`, targets.paidRecorded],
    ];
    for (const [description, verdict] of verdicts) {
      if (verdict === 'PASS') passed += 1;
      else if (verdict === 'FAIL') failed.push(description);
      else if (verdict === 'n/a') notApplicable += 1;
    }
  }
  const counts = `${passed} passed, ${failed.length} failed, ${notApplicable} n/a`;
  return failed.length === 0
    ? `chaos: all targets met (${counts})`
    : `chaos: TARGETS FAILED (${counts}): ${failed.join('; ')}`;
}
