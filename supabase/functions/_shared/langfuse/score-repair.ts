/**
 * The second half of the trace-id repair (migration 20251130000001): a score
 * whose copy in Langfuse is filed under the wrong trace id has that copy
 * deleted (DELETE /api/public/scores/{id}) before the sync sends it again
 * under its new Langfuse id. Langfuse cannot move a score to another trace,
 * so delete-and-recreate is the only repair that holds.
 *
 * Claim, commit, send, record like every other sync batch (run.ts). A 404
 * means the copy is not there (it never arrived): as good as deleted. Deletes
 * go one at a time; the batch stops starting new ones once it has spent one
 * Langfuse timeout, and the rest wait for the next batch.
 */
import type { LangfuseClient } from '@langfuse/client';
import type { LangfuseSettings } from './config.ts';
import { nextAttemptAt } from './retry.ts';
import { recordResults, type SyncRun } from './run.ts';
import { requestFailure, requestOptions } from './scores.ts';

export const STALE_DELETE_BATCH = 20;

export interface StaleDeleteReport {
  claimed: number;
  deleted: number;
  stop: string | null;
}

interface DeleteResult {
  id: string;
  stale: string;
  attempted: boolean;
  deleted: boolean;
  next: string | null;
  error: string | null;
}

/** Claims one batch of misfiled score copies, deletes them in Langfuse, records the results. */
export async function deleteStaleScoreBatch(
  run: SyncRun,
  client: LangfuseClient,
  langfuse: LangfuseSettings,
  limit = STALE_DELETE_BATCH,
): Promise<StaleDeleteReport> {
  const { sql } = run;
  const now = run.clock.now();
  const rows = await run.db(
    'claim misfiled scores',
    () => sql<{ id: string; stale: string; attempts: number }[]>`
      select * from public.claim_stale_langfuse_scores(${run.id}, ${limit}, ${run.leaseSeconds}, ${now})
    `,
  );
  if (rows.length === 0) return { claimed: 0, deleted: 0, stop: null };
  const sendUntil = performance.now() + langfuse.timeoutMs;
  const results: DeleteResult[] = [];
  let stop: string | null = null;
  for (const row of rows) {
    const result = { id: row.id, stale: row.stale, next: null, error: null };
    if (stop || performance.now() >= sendUntil) {
      results.push({ ...result, attempted: false, deleted: false });
      continue;
    }
    const options = requestOptions(langfuse);
    try {
      await client.api.legacy.scoreV1.delete(row.stale, options);
      results.push({ ...result, attempted: true, deleted: true });
    } catch (error) {
      const failure = requestFailure(error, now, 'score delete', options.abortSignal);
      if (failure.status === 404) {
        results.push({ ...result, attempted: true, deleted: true });
        continue;
      }
      stop = failure.stop;
      if (failure.outcome.kind !== 'retry') {
        // Refused for keys or permissions: the row waits as it was.
        results.push({ ...result, attempted: false, deleted: false });
        continue;
      }
      const next = nextAttemptAt(now, row.attempts + 1, failure.outcome.retryAfterSeconds);
      results.push({
        ...result,
        attempted: true,
        deleted: false,
        next: next.toISOString(),
        error: failure.outcome.error,
      });
    }
  }
  const deleted = results.filter((r) => r.deleted);
  await recordResults(run, {
    runId: run.id,
    kind: 'score deletes',
    accepted: deleted.map((r) => r.id),
    rows: results.length,
    write: () =>
      run.db(
        'record score deletes',
        () => sql`
          select public.record_stale_langfuse_score_deletes(${run.id}, ${sql.json(results as never)})
        `,
      ),
  });
  return { claimed: rows.length, deleted: deleted.length, stop };
}
