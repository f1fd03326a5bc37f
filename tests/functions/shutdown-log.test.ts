/**
 * The background writer within the platform's life cycle, against a
 * database that is not there (a real connection refused): a record still
 * being retried when the instance announces its end (`beforeunload`, as
 * Supabase's edge runtime dispatches it) is logged whole then, once; and a
 * writer whose instance's life ends before its budget gives up in time to
 * log the record itself.
 */
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unstoredCount, watchShutdown } from '../../supabase/functions/_shared/coach/in-flight.ts';
import { createTraceWriter } from '../../supabase/functions/_shared/coach/trace-writer.ts';
import { q } from '../../supabase/functions/_shared/db/statement.ts';
import { noRedaction } from '../../supabase/functions/_shared/pii.ts';
import { waitFor } from '../support/wait.ts';

let dead: Sql;
beforeAll(() => {
  dead = postgres('postgresql://postgres:postgres@127.0.0.1:9/postgres', {
    connect_timeout: 1,
    max: 1,
    onnotice: () => {},
  });
});
afterAll(async () => {
  await dead.end({ timeout: 0 });
});

function writer(budgetMs: number) {
  const pending: Promise<unknown>[] = [];
  const logs: Record<string, unknown>[] = [];
  const traces = createTraceWriter(
    dead,
    (work) => pending.push(work),
    (entry) => logs.push(entry),
    noRedaction,
    { timeoutMs: 500, budgetMs, prepare: false },
  );
  const settle = async () => {
    while (pending.length) await Promise.allSettled(pending.splice(0));
  };
  return { traces, logs, settle };
}

const notRecorded = (logs: Record<string, unknown>[]) =>
  logs.filter((entry) => entry.msg === 'call not recorded');

describe.sequential('a record nothing of which was stored', () => {
  it('is logged whole when the instance announces its end, and only then', async () => {
    const { traces, logs, settle } = writer(60_000);
    const instance = new EventTarget();
    watchShutdown(instance);
    const traceId = crypto.randomUUID();
    const record = { endpoint: 'reflection', store: { entityId: traceId, reply: 'kept' } };
    traces.persist({ traceId, attemptedBefore: true, statement: q`select 1`, record });
    await waitFor(async () => (unstoredCount() === 1 ? true : undefined));
    expect(notRecorded(logs)).toEqual([]);

    instance.dispatchEvent(
      new CustomEvent('beforeunload', { cancelable: true, detail: { reason: 'wall_clock' } }),
    );
    expect(notRecorded(logs)).toEqual([
      {
        level: 'error',
        msg: 'call not recorded',
        traceId,
        error: 'the instance is ending (wall_clock) before the record was stored',
        shutdown: 'wall_clock',
        record,
      },
    ]);

    // The life ends (as if past the wall clock): the writer stops, and says nothing twice.
    watchShutdown(new EventTarget(), { wallClockMs: 0, startedAt: 0 });
    await settle();
    expect(notRecorded(logs)).toHaveLength(1);
    expect(unstoredCount()).toBe(0);
  });

  it('is logged by the writer itself once the instance has no time left for a retry', async () => {
    // The instance's life is over (the previous test ended it): one attempt, then the record.
    const { traces, logs, settle } = writer(60_000);
    const traceId = crypto.randomUUID();
    traces.record(
      {
        traceId,
        entityType: 'reflection',
        entityId: crypto.randomUUID(),
        userId: crypto.randomUUID(),
        input: 'in',
        output: 'out',
        tags: [],
        metadata: {} as never,
      },
      null,
    );
    await settle();
    expect(notRecorded(logs)).toEqual([
      expect.objectContaining({
        traceId,
        error: expect.stringContaining('ECONNREFUSED'),
        record: expect.objectContaining({ trace: expect.objectContaining({ traceId }) }),
      }),
    ]);
    expect(logs.find((entry) => entry.shutdown)).toBeUndefined();
  });
});
