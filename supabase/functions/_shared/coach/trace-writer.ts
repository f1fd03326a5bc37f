/**
 * The records of a call that could not be written on the response path:
 * traces of failed and aborted calls, and replies (with their traces) the
 * database could not take when the answer went out. They are written in the
 * background (EdgeRuntime.waitUntil on Supabase), each attempt within the
 * database deadline, retried with backoff for STORE_RETRY_BUDGET_MS. A paid
 * call is never lost: if every attempt fails, one structured error line holds
 * the complete record (trace, and reply with what its row needs), enough to
 * insert it later.
 *
 * Before each retry the writer asks whether an earlier attempt stored the
 * record after all (its answer can be lost when the database stops or freezes
 * mid-commit, and a frozen statement commits when the database thaws): the
 * trace id is the witness, since reply and trace commit together. A unique
 * violation while retrying means the same: the late commit won the race.
 *
 * On Supabase the retries also end before the worker's wall clock does, and
 * a record still unstored when the worker ends is logged by the shutdown
 * listener (in-flight.ts). A log line longer than the platform keeps is
 * split into parts that join back (log-lines.ts); `npm run calls:sql` turns
 * such lines into the statement that stores them.
 */
import type { Sql } from 'postgres';
import { withinDeadline } from '../db/deadline.ts';
import { run, type Statement } from '../db/statement.ts';
import { describeError, isUnavailable } from '../http/errors.ts';
import { noRedaction, type Redactor } from '../pii.ts';
import { retryDeadline, trackUnstored, type Unstored } from './in-flight.ts';
import { insertTrace, type TraceLink, type TraceRecord, traceExists } from './trace.ts';

/** A write to finish in the background. */
export interface BackgroundWrite {
  traceId: string;
  /** An attempt was already made (on the response path): check before the first try. */
  attemptedBefore?: boolean;
  /** The whole write, one statement (tried as many times as it takes). */
  statement: Statement;
  /** What the log keeps when the write never succeeds: enough to insert it later. */
  record: Record<string, unknown>;
}

export interface TraceWriter {
  /** Schedules writing a trace (and linking its row); never throws, never delays the caller. */
  record(trace: TraceRecord, link: TraceLink | null): void;
  /** Schedules a write the response could not wait for; never throws. */
  persist(write: BackgroundWrite): void;
  /** The trace as it may be stored (PII redacted), for writing it in a statement of one's own. */
  storable(trace: TraceRecord): TraceRecord;
}

export interface TraceWriterOptions {
  /** DB_TIMEOUT_MS: each attempt's deadline. */
  timeoutMs: number;
  /** STORE_RETRY_BUDGET_MS: how long to keep trying. */
  budgetMs: number;
  /** DB_PREPARE (see db/statement.ts). */
  prepare: boolean;
}

/** Waits between attempts: quick at first (a blip), then every few seconds (an outage). */
const RETRY_DELAYS_MS = [50, 250, 1000, 2000, 4000];
const LONGEST_DELAY_MS = 5000;

const isUniqueViolation = (error: unknown) =>
  (error as { code?: unknown } | null)?.code === '23505';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createTraceWriter(
  sql: Sql,
  waitUntil: (work: Promise<unknown>) => void,
  log: (entry: Record<string, unknown>) => void,
  redactor: Redactor = noRedaction,
  options: TraceWriterOptions = { timeoutMs: 3000, budgetMs: 60_000, prepare: false },
): TraceWriter {
  const stored = async (traceId: string) => {
    const [row] = await withinDeadline(sql, () => traceExists(sql, traceId), options.timeoutMs);
    return row?.stored === true;
  };

  async function write(job: BackgroundWrite): Promise<void> {
    const unstored = trackUnstored(job.traceId, job.record, log);
    try {
      await writeOrLog(job, unstored.entry);
    } finally {
      unstored.done();
    }
  }

  async function writeOrLog(job: BackgroundWrite, unstored: Unstored): Promise<void> {
    const budgetEndsAt = performance.now() + options.budgetMs;
    // An attempt is a check and a write, and a second check after a unique violation.
    const attemptMs = 3 * options.timeoutMs;
    const { traceId } = job;
    // Said when a shutdown line holds the record: it needs no insert after all.
    const landedAfterShutdownLine = () => {
      if (unstored.loggedAtShutdown) {
        log({ level: 'info', msg: 'stored after all', traceId, loggedAtShutdown: true });
      }
    };
    let lastError: unknown;
    for (let attempt = 0; ; attempt += 1) {
      try {
        if (attempt > 0 || job.attemptedBefore) {
          if (await stored(traceId)) return landedAfterShutdownLine();
        }
        try {
          await withinDeadline(
            sql,
            () => run(sql, job.statement, options),
            options.timeoutMs,
            'background write',
          );
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          if (!(await stored(traceId))) throw error;
        }
        if (attempt > 0) log({ level: 'info', msg: 'stored after retries', traceId, attempt });
        return landedAfterShutdownLine();
      } catch (error) {
        lastError = error;
        // Only an outage is worth waiting out; anything else fails the same way again.
        if (!isUnavailable(error)) break;
      }
      const delay = RETRY_DELAYS_MS[attempt] ?? LONGEST_DELAY_MS;
      if (performance.now() + delay > retryDeadline(budgetEndsAt, attemptMs)) break;
      await sleep(delay);
    }
    // The shutdown line already holds the record.
    if (unstored.loggedAtShutdown) return;
    log({
      level: 'error',
      msg: 'call not recorded',
      traceId,
      error: describeError(lastError),
      record: job.record,
    });
  }

  // Starts on the next macrotask, so the answer is written to the client
  // before this write's own work (building the row, the socket write).
  const schedule = (job: () => BackgroundWrite) => waitUntil(sleep(0).then(() => write(job())));

  const storable = (trace: TraceRecord): TraceRecord => ({
    ...trace,
    input: redactor.redact(trace.input),
    output: redactor.redact(trace.output),
  });

  return {
    storable,
    persist: (job) => schedule(() => job),
    record(trace, link) {
      schedule(() => {
        const row = storable(trace);
        return {
          traceId: trace.traceId,
          statement: insertTrace(row, link),
          record: { trace: row, link },
        };
      });
    },
  };
}
