/**
 * The Langfuse side of `npm run chaos`. Through the whole run a scheduler
 * calls langfuse-sync every few seconds (never two at once, as the local
 * scheduler and pg_cron's single job do), probes health, and lets feedback
 * arrive (pending user_feedback scores on recent traces). Per phase it counts
 * what the sync answered and whether the server stayed up. After the last
 * phase, with Langfuse well, passes run until nothing is left; then what the
 * local Langfuse received is held against the database: every trace and
 * score once, every batch-run row ended.
 */
import type { ChildProcess } from 'node:child_process';
import type { LangfuseServer } from '../../local/langfuse/server.ts';
import { connect } from '../../local/tooling/connect.ts';
import { markdownTable, round } from '../lib/stats.ts';
import type { Verdict } from './report.ts';

export interface SyncCall {
  at: number;
  status: number | null;
  ms: number;
}

export interface SyncScheduler {
  calls: SyncCall[];
  /** Health probes: whether the server answered at all (a 200 with db: error counts). */
  probes: { at: number; answered: boolean }[];
  stop(): Promise<void>;
}

export function startSyncScheduler(options: {
  functionsUrl: string;
  secretKey: string;
  databaseUrl: string;
  everyMs: number;
}): SyncScheduler {
  const calls: SyncCall[] = [];
  const probes: SyncScheduler['probes'] = [];
  const db = connect(options.databaseUrl);
  let syncing: Promise<void> | null = null;
  const sync = async () => {
    const at = performance.now();
    const status = await fetch(`${options.functionsUrl}/functions/v1/langfuse-sync`, {
      method: 'POST',
      headers: { apikey: options.secretKey },
      signal: AbortSignal.timeout(600_000),
    }).then(
      async (res) => {
        await res.arrayBuffer();
        return res.status;
      },
      () => null,
    );
    calls.push({ at, status, ms: performance.now() - at });
  };
  let feeding: Promise<unknown> | null = null;
  const tick = async () => {
    // The scheduler never waits on the database itself: the sync starts on time whatever it does.
    if (!syncing) syncing = sync().finally(() => (syncing = null));
    // Feedback on a few recent traces; refused while Postgres is down, as the API would be.
    feeding ??= db`
      insert into public.langfuse_scores (trace_id, score_name, value, comment)
      select t.trace_id, 'user_feedback', 1, 'chaos feedback' from public.langfuse_traces t
      where not exists (select 1 from public.langfuse_scores s where s.trace_id = t.trace_id)
      order by t.created_at desc limit 5
      on conflict do nothing
    `
      .catch(() => {})
      .finally(() => (feeding = null));
    const at = performance.now();
    const answered = await fetch(`${options.functionsUrl}/functions/v1/health`, {
      signal: AbortSignal.timeout(10_000),
    }).then(
      async (res) => {
        await res.arrayBuffer();
        return true;
      },
      () => false,
    );
    probes.push({ at, answered });
  };
  const timer = setInterval(() => void tick(), options.everyMs);
  return {
    calls,
    probes,
    async stop() {
      clearInterval(timer);
      await syncing;
      await feeding;
      await db.end({ timeout: 1 });
    },
  };
}

export interface SyncPhaseRow {
  phase: string;
  calls: number;
  answered200: number;
  answered503: number;
  other: number;
  maxMs: number;
  probes: number;
  unanswered: number;
  serverExited: boolean;
  targets: { serverUp: Verdict; no500: Verdict };
}

export function syncPhaseRow(
  phase: string,
  scheduler: SyncScheduler,
  from: number,
  to: number,
  server: ChildProcess,
): SyncPhaseRow {
  const calls = scheduler.calls.filter((call) => call.at >= from && call.at < to);
  const probes = scheduler.probes.filter((probe) => probe.at >= from && probe.at < to);
  const unanswered = probes.filter((probe) => !probe.answered).length;
  const serverExited = server.exitCode !== null || server.signalCode !== null;
  return {
    phase,
    calls: calls.length,
    answered200: calls.filter((call) => call.status === 200).length,
    answered503: calls.filter((call) => call.status === 503).length,
    other: calls.filter((call) => call.status !== 200 && call.status !== 503).length,
    maxMs: round(Math.max(0, ...calls.map((call) => call.ms)), 0),
    probes: probes.length,
    unanswered,
    serverExited,
    targets: {
      serverUp: unanswered === 0 && !serverExited ? 'PASS' : 'FAIL',
      no500: calls.some((call) => call.status === 500) ? 'FAIL' : 'PASS',
    },
  };
}

export function syncTable(rows: SyncPhaseRow[]): string {
  return markdownTable(
    [
      'phase',
      'sync calls',
      '200',
      '503',
      'other',
      'slowest ms',
      'health probes',
      'unanswered',
      'server up',
      'sync never 500',
    ],
    rows.map((row) => [
      row.phase,
      row.calls,
      row.answered200,
      row.answered503,
      row.other,
      row.maxMs,
      row.probes,
      row.unanswered,
      row.targets.serverUp,
      row.targets.no500,
    ]),
  );
}

export interface LangfuseAccount {
  passes: number;
  traces: number;
  /** Not sent yet: a retry backing off, or a lease of a run that died. */
  tracesWaiting: number;
  tracesInLangfuse: number;
  tracesSentTwice: number;
  scores: number;
  scoresWaiting: number;
  scoresInLangfuse: number;
  scoresSentTwice: number;
  openRuns: number;
  targets: { allDelivered: Verdict; noneTwice: Verdict; runsEnded: Verdict };
}

/** Langfuse well again: passes until one finds nothing to do, then the account. */
export async function accountForLangfuse(options: {
  functionsUrl: string;
  secretKey: string;
  databaseUrl: string;
  langfuse: LangfuseServer;
  /** How long a run can live (SYNC_TIME_BUDGET_MS and a lease): older open rows are closed. */
  runLifetimeMs: number;
}): Promise<LangfuseAccount> {
  const { langfuse } = options;
  langfuse.faults.delayMs = 0;
  langfuse.faults.silent = false;
  const db = connect(options.databaseUrl);
  try {
    let passes = 0;
    while (passes < 20) {
      passes += 1;
      const res = await fetch(`${options.functionsUrl}/functions/v1/langfuse-sync`, {
        method: 'POST',
        headers: { apikey: options.secretKey },
      });
      const summary = (await res.json()) as { tracesExported?: number; scoresSent?: number };
      if (res.ok && !summary.tracesExported && !summary.scoresSent) break;
    }
    // Retries back off (30 s and more) and leases outlive a dead run: what is left is due later.
    const [counts] = await db<
      {
        traces: number;
        scores: number;
        tracesWaiting: number;
        scoresWaiting: number;
        open: number;
      }[]
    >`
      select
        (select count(*)::int from public.langfuse_traces where exported_at is not null) as traces,
        (select count(*)::int from public.langfuse_scores where status = 'sent') as scores,
        (select count(*)::int from public.langfuse_traces where exported_at is null) as "tracesWaiting",
        (select count(*)::int from public.langfuse_scores where status = 'pending') as "scoresWaiting",
        (select count(*)::int from public.langfuse_batch_runs where completed_at is null
          and started_at < now() - make_interval(secs => ${options.runLifetimeMs / 1000})) as open
    `;
    const tracesSent = new Map<string, number>();
    for (const [traceId, spans] of langfuse.spans)
      tracesSent.set(traceId, spans.filter((span) => span.parentSpanId === '').length);
    const scoresSent = new Map<string, number>();
    for (const event of langfuse.scoreEvents) {
      const id = String(event.body.id);
      scoresSent.set(id, (scoresSent.get(id) ?? 0) + 1);
    }
    const twice = (counts: Map<string, number>) => [...counts.values()].filter((n) => n > 1).length;
    const account = {
      passes,
      traces: counts?.traces ?? 0,
      tracesWaiting: counts?.tracesWaiting ?? 0,
      tracesInLangfuse: tracesSent.size,
      tracesSentTwice: twice(tracesSent),
      scores: counts?.scores ?? 0,
      scoresWaiting: counts?.scoresWaiting ?? 0,
      scoresInLangfuse: scoresSent.size,
      scoresSentTwice: twice(scoresSent),
      openRuns: counts?.open ?? 0,
    };
    return {
      ...account,
      targets: {
        allDelivered:
          account.tracesInLangfuse === account.traces && account.scoresInLangfuse === account.scores
            ? 'PASS'
            : 'FAIL',
        noneTwice: account.tracesSentTwice + account.scoresSentTwice === 0 ? 'PASS' : 'FAIL',
        runsEnded: account.openRuns === 0 ? 'PASS' : 'FAIL',
      },
    };
  } finally {
    await db.end({ timeout: 1 });
  }
}

export function accountTable(account: LangfuseAccount): string {
  return markdownTable(
    ['', 'sent, by the database', 'received by Langfuse', 'sent twice', 'waiting for a retry'],
    [
      [
        'traces',
        account.traces,
        account.tracesInLangfuse,
        account.tracesSentTwice,
        account.tracesWaiting,
      ],
      [
        'scores',
        account.scores,
        account.scoresInLangfuse,
        account.scoresSentTwice,
        account.scoresWaiting,
      ],
    ],
  );
}
