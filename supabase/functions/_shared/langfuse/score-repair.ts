/**
 * The second half of the trace-id repair (migration 20251130000001): a score
 * whose copy in Langfuse is filed under the wrong trace id has that copy
 * deleted (DELETE /api/public/scores/{id}) before the sync sends it again
 * under its new Langfuse id. Langfuse cannot move a score to another trace,
 * so delete-and-recreate is the only repair that holds.
 *
 * Rows are claimed with FOR UPDATE SKIP LOCKED like every other sync batch. A
 * 404 means the copy is not there (it never arrived): as good as deleted.
 */
import type { LangfuseClient } from '@langfuse/client';
import type { Sql } from 'postgres';
import type { SyncConfig } from './config.ts';
import { nextAttemptAt } from './retry.ts';
import { requestFailure } from './scores.ts';

export const STALE_DELETE_BATCH = 20;

export interface StaleDeleteReport {
  claimed: number;
  deleted: number;
  stop: string | null;
}

/** Deletes one batch of misfiled score copies in Langfuse; the first failure ends the batch. */
export async function deleteStaleScoreBatch(
  sql: Sql,
  client: LangfuseClient,
  config: SyncConfig,
  now: Date,
  limit = STALE_DELETE_BATCH,
): Promise<StaleDeleteReport> {
  return sql.begin(async (tx) => {
    const rows = await tx<{ id: string; stale: string; attempts: number }[]>`
      select id, stale_langfuse_score_id as stale, attempts
      from public.langfuse_scores
      where stale_langfuse_score_id is not null
        and (next_attempt_at is null or next_attempt_at <= ${now})
      order by next_attempt_at nulls first, created_at
      limit ${limit}
      for update skip locked
    `;
    const deleted: string[] = [];
    let stop: string | null = null;
    for (const row of rows) {
      try {
        await client.api.legacy.scoreV1.delete(row.stale, {
          maxRetries: 0,
          timeoutInSeconds: config.langfuse.timeoutMs / 1000,
        });
        deleted.push(row.id);
      } catch (error) {
        const failure = requestFailure(error, now, 'score delete');
        if (failure.status === 404) {
          deleted.push(row.id);
          continue;
        }
        stop = failure.stop;
        if (failure.outcome.kind === 'retry') {
          await tx`
            update public.langfuse_scores set attempts = attempts + 1,
              next_attempt_at = ${nextAttemptAt(now, row.attempts + 1, failure.outcome.retryAfterSeconds)},
              last_error = ${failure.outcome.error}
            where id = ${row.id}
          `;
        }
        break;
      }
    }
    if (deleted.length > 0) {
      await tx`
        update public.langfuse_scores set stale_langfuse_score_id = null
        where id = any(${deleted}::uuid[])
      `;
    }
    return { claimed: rows.length, deleted: deleted.length, stop };
  });
}
