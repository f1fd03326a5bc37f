/**
 * The budget-cpu part of `npm run bench` (issue 11): what a budget costs
 * Postgres, measured where the machine's noise does not drown it. One
 * connection, one call at a time, no LLM: the two statements of an ai-coach
 * call (bench/lib/coach-statements.ts) without a budget, with the least an
 * exact budget must write (a row of the user's at reserve and at settle), and
 * with the budget as deployed, in interleaved rounds. Reported: the backend's
 * CPU ms per call (from /proc) and the wall time, and what each budget adds.
 *
 * At 16 concurrent clients a request pays that CPU on its own path and waits
 * for a core besides, so this is less than a budget can add to a p50 there.
 * BENCH_BUDGET_CPU_ROUNDS (30) rounds of 50 calls a variant.
 */
import postgres from 'postgres';
import { run } from '../supabase/functions/_shared/db/statement.ts';
import { benchUsers } from './lib/bench-users.ts';
import {
  BUDGET_VARIANTS,
  type BudgetVariant,
  countStatement,
  storeStatement,
} from './lib/coach-statements.ts';
import { cpuMs } from './lib/cpu.ts';
import { round } from './lib/stats.ts';

const CALLS_PER_ROUND = 50;

export interface BudgetCpuRow {
  budget: BudgetVariant;
  calls: number;
  /** The backend's CPU ms per call, both statements. */
  backendCpuMs: number;
  wallMs: number;
  /** backendCpuMs less the same statements' without a budget. */
  addedCpuMs: number;
}

export interface BudgetCpuBench {
  rounds: number;
  rows: BudgetCpuRow[];
}

export async function benchBudgetCpu(
  databaseUrl: string,
  rounds = Number(process.env.BENCH_BUDGET_CPU_ROUNDS ?? 30),
): Promise<BudgetCpuBench> {
  const [userId] = await benchUsers(databaseUrl, 1);
  if (!userId) throw new Error('no bench user');
  const sql = postgres(databaseUrl, { max: 1, prepare: false, onnotice: () => {} });
  const inline = { prepare: false };
  try {
    const [backend] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const pid = backend?.pid as number;
    const call = async (budget: BudgetVariant) => {
      const receivedAt = new Date();
      const [counted] = await run<{ budget: unknown }[]>(
        sql,
        countStatement(userId, receivedAt, budget),
        inline,
      );
      const stored = { userId, message: 'I keep skipping my morning run.', reply: 'Start small.' };
      await run(
        sql,
        storeStatement(
          { ...stored, receivedAt, latencyMs: 50, budgetAnswer: counted?.budget },
          budget,
        ),
        inline,
      );
    };
    for (const budget of BUDGET_VARIANTS) for (let i = 0; i < 100; i += 1) await call(budget);
    const totals = new Map(
      BUDGET_VARIANTS.map((budget) => [budget, { cpu: 0, wall: 0, calls: 0 }]),
    );
    for (let round = 0; round < rounds; round += 1) {
      for (const budget of BUDGET_VARIANTS) {
        const cpuBefore = await cpuMs({ pid });
        const started = performance.now();
        for (let i = 0; i < CALLS_PER_ROUND; i += 1) await call(budget);
        const wall = performance.now() - started;
        const cpuAfter = await cpuMs({ pid });
        if (cpuBefore === null || cpuAfter === null) throw new Error('no /proc for the backend');
        const total = totals.get(budget) as { cpu: number; wall: number; calls: number };
        total.cpu += cpuAfter - cpuBefore;
        total.wall += wall;
        total.calls += CALLS_PER_ROUND;
      }
    }
    const perCall = (budget: BudgetVariant) => {
      const total = totals.get(budget) as { cpu: number; wall: number; calls: number };
      return { cpu: total.cpu / total.calls, wall: total.wall / total.calls, calls: total.calls };
    };
    const none = perCall('none').cpu;
    return {
      rounds,
      rows: BUDGET_VARIANTS.map((budget) => {
        const { cpu, wall, calls } = perCall(budget);
        return {
          budget,
          calls,
          backendCpuMs: round(cpu, 3),
          wallMs: round(wall, 3),
          addedCpuMs: round(cpu - none, 3),
        };
      }),
    };
  } finally {
    await sql.end();
  }
}
