/**
 * `npm run --silent calls:sql < lines.log`: the SQL that stores the calls
 * the functions logged as `call not recorded` (their retries ran out, or the
 * instance ended first). Reads log lines (the functions' own JSON lines, or
 * rows with an `event_message` as Supabase's Logs Explorer exports them;
 * other lines are skipped), joins the parts of a split line (log-lines.ts),
 * and prints one statement that stores each record whose trace is not stored
 * yet, so running it twice is harmless:
 *
 *   npm run sql -- "$(npm run --silent calls:sql < lines.log)"
 *
 * `-- --run` runs it itself on DATABASE_URL (no size limit of a shell
 * argument) and says which calls are stored now. `-- <trace id>...` keeps
 * only those calls.
 */
import { text } from 'node:stream/consumers';
import { connect } from '../local/tooling/connect.ts';
import { redactUrl, targetDatabaseUrl } from '../local/tooling/database-url.ts';
import { runMain, StepError } from '../local/tooling/step.ts';
import { storeRecordsSql, unrecordedCalls } from '../supabase/functions/_shared/coach/replay.ts';
import { joinLogParts, parseLogLine } from '../supabase/functions/_shared/log-lines.ts';

runMain(async () => {
  const args = process.argv.slice(2);
  const only = new Set(args.filter((arg) => arg !== '--run'));
  const input = await text(process.stdin);
  const lines = input.split('\n').flatMap((line) => {
    const entry = parseLogLine(line);
    return entry ? [entry] : [];
  });
  const { entries, incomplete } = joinLogParts(lines);
  for (const { logId, traceId, found, parts } of incomplete) {
    console.error(`skipped: ${found} of ${parts} parts of log entry ${logId} (trace ${traceId})`);
  }
  const records = unrecordedCalls(entries);
  for (const traceId of records.keys())
    if (only.size && !only.has(traceId)) records.delete(traceId);
  if (records.size === 0) {
    throw new StepError('read the log', 'no complete `call not recorded` line in the input');
  }
  const statement = storeRecordsSql(records);
  const traceIds = [...records.keys()];
  if (!args.includes('--run')) {
    console.error(`${records.size} call(s): ${traceIds.join(', ')}`);
    console.log(statement);
    return;
  }
  const url = targetDatabaseUrl();
  const sql = connect(url);
  try {
    await sql.unsafe(statement);
    const stored = await sql<{ trace_id: string }[]>`
      select trace_id::text from public.langfuse_traces where trace_id = any(${traceIds}::uuid[])
    `;
    const found = new Set(stored.map((row) => row.trace_id));
    for (const traceId of traceIds)
      console.log(`${traceId} ${found.has(traceId) ? 'stored' : 'NOT stored'}`);
    console.log(`${found.size} of ${traceIds.length} call(s) stored in ${redactUrl(url)}`);
  } catch (error) {
    throw new StepError('store the calls', (error as Error).message);
  } finally {
    await sql.end();
  }
});
