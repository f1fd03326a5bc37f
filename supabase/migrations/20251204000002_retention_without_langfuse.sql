-- =============================================================================
-- Retention without Langfuse.
--
-- A trace with a pending score is kept until the score is delivered, so the
-- score is never lost. Without Langfuse keys nothing is delivered, and that
-- rule kept every scored trace forever. Now a pending score holds its trace
-- only while the sync sends to Langfuse: unless the latest completed
-- `langfuse-sync` run had no keys (langfuse_batch_runs.langfuse_configured is
-- false). A project that never ran the sync keeps the old rule.
-- Rollback: supabase/rollbacks/20251204000002_retention_without_langfuse.down.sql
-- =============================================================================

create or replace function public.cleanup_old_traces(
  p_retention_days integer,
  p_batch_size integer default 5000,
  p_now timestamptz default now()
)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with sending as (
    select coalesce((
      select r.langfuse_configured
      from public.langfuse_batch_runs r
      where r.batch_name = 'langfuse-sync' and r.completed_at is not null
      order by r.started_at desc
      limit 1
    ), true) as to_langfuse
  ),
  doomed as (
    select t.id
    from public.langfuse_traces t
    where t.created_at < p_now - make_interval(days => p_retention_days)
      and t.rolled_up_at is not null
      and not (
        (select to_langfuse from sending)
        and exists (
          select 1 from public.langfuse_scores s
          where s.trace_id = t.trace_id and s.status = 'pending'
        )
      )
    order by t.created_at
    limit p_batch_size
    for update skip locked
  ),
  deleted as (
    delete from public.langfuse_traces t using doomed where t.id = doomed.id
    returning 1
  )
  select count(*)::integer from deleted
$$;

comment on function public.cleanup_old_traces(integer, integer, timestamptz) is
  'Deletes one batch of traces older than p_retention_days (scores cascade), never one not yet rolled up, nor one with a pending score while the sync sends to Langfuse. Returns how many.';
