/**
 * The way back from a `call not recorded` log line to the database: the
 * statement that stores the logged record as the background writer would
 * have (trace-writer.ts), for a reply with its trace
 * (`{endpoint, store, trace}`, store-reply.ts) or a trace alone
 * (`{trace, link}`). Nothing here runs in a function; `npm run calls:sql`
 * (scripts/unrecorded-calls.ts) prints what it builds.
 */
import { quoteLiteral, render, type Statement } from '../db/statement.ts';
import type { CoachKind, StoreInput } from './kind.ts';
import { aiCoach } from './kinds/ai-coach.ts';
import { dailyStatus } from './kinds/daily-status.ts';
import { encouragement } from './kinds/encouragement.ts';
import { reflection } from './kinds/reflection.ts';
import { storeStatement } from './store-reply.ts';
import { insertTrace, type TraceLink, type TraceRecord } from './trace.ts';

// biome-ignore lint/suspicious/noExplicitAny: each kind takes its own body; the log holds it as written.
const KINDS: Record<string, CoachKind<any>> = Object.fromEntries(
  [aiCoach, dailyStatus, encouragement, reflection].map((kind) => [kind.endpoint, kind]),
);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A logged record, as JSON gave it back. */
export interface LoggedRecord {
  endpoint?: string;
  store?: Omit<StoreInput<unknown>, 'receivedAt' | 'now'> & { receivedAt: string; now: string };
  trace: TraceRecord;
  link?: TraceLink | null;
}

/** The statement that stores the record (the one the writer retried). */
export function recordStatement(record: LoggedRecord): Statement {
  if (!record.store) return insertTrace(record.trace, record.link ?? null);
  const kind = KINDS[record.endpoint ?? ''];
  if (!kind) throw new Error(`a record of an unknown endpoint: ${record.endpoint}`);
  // JSON made the times strings; the kinds take Dates.
  const input = {
    ...record.store,
    receivedAt: new Date(record.store.receivedAt),
    now: new Date(record.store.now),
  };
  return storeStatement(kind.store(input), record.trace);
}

/** The records of `call not recorded` entries, one per trace id. */
export function unrecordedCalls(entries: Record<string, unknown>[]): Map<string, LoggedRecord> {
  const records = new Map<string, LoggedRecord>();
  for (const entry of entries) {
    const record = entry.record as LoggedRecord | undefined;
    if (entry.msg !== 'call not recorded' || typeof record?.trace?.traceId !== 'string') continue;
    if (!UUID.test(record.trace.traceId))
      throw new Error(`not a trace id: ${record.trace.traceId}`);
    records.set(record.trace.traceId, record);
  }
  return records;
}

/**
 * One SQL statement (a DO block, one transaction) that stores every record
 * whose trace is not stored yet: running it twice stores nothing twice. A
 * record that fails stops it all, with its trace id in the error.
 */
export function storeRecordsSql(records: Map<string, LoggedRecord>): string {
  const steps = [...records].map(([traceId, record]) => {
    const { text } = render(recordStatement(record), true);
    const id = quoteLiteral(traceId);
    return [
      `  if not exists (select 1 from public.langfuse_traces where trace_id = ${id}::uuid) then`,
      '    begin',
      `      execute ${quoteLiteral(text)};`,
      '    exception when others then',
      `      raise exception 'call %: %', ${id}, sqlerrm using errcode = sqlstate;`,
      '    end;',
      '  end if;',
    ].join('\n');
  });
  return `do ${quoteLiteral(`\nbegin\n${steps.join('\n')}\nend\n`)}`;
}
