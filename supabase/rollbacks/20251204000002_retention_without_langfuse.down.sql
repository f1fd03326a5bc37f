-- =============================================================================
-- Rollback of 20251204000002_retention_without_langfuse.sql: the rule of
-- 20251122000009 (a pending score always holds its trace).
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
  with doomed as (
    select t.id
    from public.langfuse_traces t
    where t.created_at < p_now - make_interval(days => p_retention_days)
      and t.rolled_up_at is not null
      and not exists (
        select 1 from public.langfuse_scores s
        where s.trace_id = t.trace_id and s.status = 'pending'
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
  'Deletes one batch of traces older than p_retention_days (scores cascade), never one with a pending score or not yet rolled up. Returns how many.';
