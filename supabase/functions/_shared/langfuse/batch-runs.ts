/**
 * A run's langfuse_batch_runs row: opened first, completed with the run's
 * summary last. A run that dies leaves its row open; the next run closes it
 * (completed_at, errors.abandoned: true) once it is older than any live run
 * can be, and names it in its own summary, so each is reported once.
 */
import { runLifetimeMs } from './config.ts';
import type { SyncRun } from './run.ts';

export const BATCH_NAME = 'langfuse-sync';

export async function openRunRow(run: SyncRun, startedAt: Date): Promise<void> {
  const { sql } = run;
  await run.db(
    'open the run',
    () => sql`
      insert into public.langfuse_batch_runs (id, batch_name, started_at, langfuse_configured)
      values (${run.id}, ${BATCH_NAME}, ${startedAt}, ${run.config.langfuse !== null})
    `,
  );
}

/** Closes the rows of runs that died; returns their ids. */
export async function closeAbandonedRuns(run: SyncRun, startedAt: Date): Promise<string[]> {
  const { sql } = run;
  const before = new Date(startedAt.getTime() - runLifetimeMs(run.config));
  const rows = await run.db(
    'close abandoned runs',
    () => sql<{ id: string }[]>`
      update public.langfuse_batch_runs set
        completed_at = ${startedAt},
        errors = coalesce(errors, '{}'::jsonb) || jsonb_build_object('abandoned', true, 'closedBy', ${run.id}::text)
      where batch_name = ${BATCH_NAME} and completed_at is null and id <> ${run.id}
        and started_at < ${before}
      returning id
    `,
  );
  return rows.map((row) => row.id).sort();
}

export async function completeRunRow(
  run: SyncRun,
  counts: { scoresCreated: number; scoresSent: number },
  problems: Record<string, unknown> | null,
): Promise<void> {
  const { sql } = run;
  await run.db(
    'complete the run',
    () => sql`
      update public.langfuse_batch_runs set
        scores_created = ${counts.scoresCreated},
        scores_sent = ${counts.scoresSent},
        errors = ${problems ? sql.json(problems as never) : null},
        completed_at = ${run.clock.now()}
      where id = ${run.id}
    `,
  );
}
