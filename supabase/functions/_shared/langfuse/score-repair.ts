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
 *
 * Langfuse Cloud allows few deletes a day (50 on Hobby, 200 Core, 1,000 Pro:
 * LANGFUSE_SCORE_DELETES_PER_DAY). The runs count theirs
 * (langfuse_batch_runs.score_deletes), and no run deletes more than the last
 * 24 hours leave; a 429 holds every copy still to delete until its
 * Retry-After, a day if need be.
 */
import type { LangfuseClient } from '@langfuse/client';
import { requestFailure, requestOptions } from './client-calls.ts';
import type { LangfuseSettings } from './config.ts';
import { nextAttemptAt } from './retry.ts';
import { recordResults, type SyncRun } from './run.ts';

export const STALE_DELETE_BATCH = 20;

export interface StaleDeleteReport {
  claimed: number;
  deleted: number;
  stop: string | null;
}

/** Deletes made by the runs of the last 24 hours (this one's recorded ones included). */
export async function deletesInLastDay(run: SyncRun): Promise<number> {
  const { sql } = run;
  const [row] = await run.db(
    'count score deletes',
    () => sql<{ n: number }[]>`
      select coalesce(sum(score_deletes), 0)::int as n from public.langfuse_batch_runs
      where batch_name = 'langfuse-sync' and started_at > ${run.clock.now()}::timestamptz - interval '1 day'
    `,
  );
  return row?.n ?? 0;
}

export interface RepairProgress {
  /** Misfiled copies still to delete. */
  remaining: number;
  /** Deletes the daily limit still allows now. */
  allowedToday: number;
  /** When the last of them should be gone at this pace (null: none left). */
  doneBy: string | null;
}

/** How far the repair is, and roughly when it ends at the daily limit. */
export async function repairProgress(run: SyncRun): Promise<RepairProgress> {
  const { sql } = run;
  const [row] = await run.db(
    'count misfiled scores',
    () => sql<{ n: number; held: Date | null }[]>`
      select count(*)::int as n, max(next_attempt_at) as held from public.langfuse_scores
      where stale_langfuse_score_id is not null
    `,
  );
  const remaining = row?.n ?? 0;
  const perDay = run.config.scoreDeletesPerDay;
  const allowedToday = Math.max(0, perDay - (await deletesInLastDay(run)));
  if (remaining === 0) return { remaining, allowedToday, doneBy: null };
  const now = run.clock.now().getTime();
  const days = remaining <= allowedToday ? 0 : Math.ceil((remaining - allowedToday) / perDay);
  // A run a minute; a 429's hold can push the start later.
  const start = Math.max(now, row?.held?.getTime() ?? 0);
  const doneBy = new Date(start + days * 86_400_000 + Math.ceil(remaining / 20) * 60_000);
  return { remaining, allowedToday, doneBy: doneBy.toISOString() };
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
  const allowed = run.config.scoreDeletesPerDay - (await deletesInLastDay(run));
  if (allowed <= 0) {
    return {
      claimed: 0,
      deleted: 0,
      stop: `score deletes: the daily limit (${run.config.scoreDeletesPerDay}) is used up`,
    };
  }
  const take = Math.min(limit, allowed);
  const rows = await run.db(
    'claim misfiled scores',
    () => sql<{ id: string; stale: string; attempts: number }[]>`
      select * from public.claim_stale_langfuse_scores(${run.id}, ${take}, ${run.leaseSeconds}, ${now})
    `,
  );
  if (rows.length === 0) return { claimed: 0, deleted: 0, stop: null };
  const sendUntil = performance.now() + langfuse.timeoutMs;
  const results: DeleteResult[] = [];
  let stop: string | null = null;
  let holdUntil: Date | null = null;
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
      if (failure.status === 429) holdUntil = next;
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
  if (holdUntil) {
    // Over the limit: every copy still to delete would be refused too, until then.
    await run.db(
      'hold score deletes',
      () => sql`
        update public.langfuse_scores
        set next_attempt_at = greatest(coalesce(next_attempt_at, ${holdUntil}), ${holdUntil})
        where stale_langfuse_score_id is not null and claimed_by is null
      `,
    );
  }
  return { claimed: rows.length, deleted: deleted.length, stop };
}
