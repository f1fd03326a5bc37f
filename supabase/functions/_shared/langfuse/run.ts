/**
 * One sync run as its batches see it: its id (the owner of its claims), the
 * lease its claims get, its clock, and the two kinds of bounded wait a run
 * has: a database statement (DB_TIMEOUT_MS, db/deadline.ts) and a request to
 * Langfuse (LANGFUSE_TIMEOUT_MS, the whole answer included).
 *
 * Recording what Langfuse answered is the step that must not be lost: when
 * the database does not take a record, the run retries it for
 * SYNC_RECORD_BUDGET_MS, then keeps it in memory (UnrecordedResults, one per
 * function instance), logs it whole, and stops. The next run of the same
 * instance records it before it claims anything, so nothing Langfuse accepted
 * is sent again while that instance lives. Records are idempotent, so a record
 * that committed late (a frozen database) and its retry agree.
 */
import type { Sql } from 'postgres';
import type { Clock } from '../coach/deps.ts';
import { withinDeadline } from '../db/deadline.ts';
import { describeError, isUnavailable } from '../http/errors.ts';
import type { Logger } from '../log.ts';
import { batchLeaseMs, type SyncConfig } from './config.ts';

/** A batch's results, waiting to be recorded. */
export interface ResultRecord {
  runId: string;
  kind: 'trace exports' | 'score results' | 'score deletes';
  /** Our ids of the rows Langfuse accepted (empty when it accepted none). */
  accepted: string[];
  /** Rows whose results are in this record. */
  rows: number;
  /** The record statement; idempotent. */
  write(): Promise<unknown>;
}

/** Results a run could not record, kept for the next run of this instance. */
export class UnrecordedResults {
  private readonly records: ResultRecord[] = [];

  constructor(private readonly limit = 200) {}

  get size(): number {
    return this.records.length;
  }

  add(record: ResultRecord): void {
    this.records.push(record);
    // Every record here has been logged whole; past the limit the oldest goes.
    if (this.records.length > this.limit) this.records.shift();
  }

  /**
   * Records every kept result, oldest first. While the database is away it
   * throws, keeping the rest; a record the database refuses for another
   * reason would never go in, and is dropped (its log line stays).
   */
  async flush(log: Logger): Promise<number> {
    let recorded = 0;
    while (this.records.length > 0) {
      const record = this.records[0] as ResultRecord;
      try {
        await record.write();
        recorded += 1;
      } catch (error) {
        if (isUnavailable(error)) throw error;
        log({
          level: 'error',
          msg: 'langfuse sync results dropped: the database refuses them',
          runId: record.runId,
          kind: record.kind,
          accepted: record.accepted,
          error: describeError(error),
        });
      }
      this.records.shift();
    }
    return recorded;
  }
}

export interface SyncRun {
  id: string;
  sql: Sql;
  config: SyncConfig;
  clock: Clock;
  log: Logger;
  unrecorded: UnrecordedResults;
  /** The lease of this run's claims, in whole seconds. */
  leaseSeconds: number;
  /** False once the run's time budget is spent: no new batch starts. */
  timeLeft(): boolean;
  /** A statement of this run, bounded by DB_TIMEOUT_MS. */
  db<T>(what: string, start: () => PromiseLike<T>): Promise<T>;
}

export function startRun(options: {
  sql: Sql;
  config: SyncConfig;
  clock: Clock;
  log: Logger;
  unrecorded: UnrecordedResults;
}): SyncRun {
  const { sql, config } = options;
  const deadline = performance.now() + config.timeBudgetMs;
  return {
    ...options,
    id: crypto.randomUUID(),
    leaseSeconds: Math.ceil(batchLeaseMs(config) / 1000),
    timeLeft: () => performance.now() < deadline,
    db: (what, start) => withinDeadline(sql, start, config.dbTimeoutMs, `langfuse sync: ${what}`),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes a batch's record, retrying within SYNC_RECORD_BUDGET_MS. If it
 * still fails, the record is kept for the next run, logged whole (one line:
 * the ids Langfuse accepted), and the error is thrown: the run stops.
 */
export async function recordResults(run: SyncRun, record: ResultRecord): Promise<void> {
  const giveUpAt = performance.now() + run.config.recordBudgetMs;
  let pause = 100;
  for (;;) {
    try {
      await record.write();
      return;
    } catch (error) {
      // Only an absent database heals by waiting; anything else is logged and kept as well.
      if (isUnavailable(error) && performance.now() + pause < giveUpAt) {
        await sleep(pause);
        pause = Math.min(pause * 2, 2000);
        continue;
      }
      run.unrecorded.add(record);
      run.log({
        level: 'error',
        msg: 'langfuse sync results not recorded',
        runId: record.runId,
        kind: record.kind,
        rows: record.rows,
        accepted: record.accepted,
        error: describeError(error),
      });
      throw error;
    }
  }
}
