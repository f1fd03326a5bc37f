-- =============================================================================
-- Retention (seed 001): old rows go, in short batches.
--
--   cleanup_old_traces(days)       traces older than `days`; their scores go
--                                  with them (on delete cascade). A trace that
--                                  still has a pending score stays until it is
--                                  delivered or failed, and one not yet in the
--                                  usage rollup stays until it is.
--   cleanup_rate_limit_logs()      rate-limit windows that ended over a day ago
--   cleanup_batch_runs(days)       completed sync runs older than `days`
--
-- Each call deletes at most one batch (oldest first, skipping rows another
-- session has locked) and returns how many, so every transaction and its
-- locks stay short; schedulers call again until it returns 0.
-- Rollback: supabase/rollbacks/20251122000009_add_retention.down.sql
-- =============================================================================

create index idx_rate_limit_logs_window_start on public.rate_limit_logs (window_start);

-- -----------------------------------------------------------------------------
-- Traces
-- -----------------------------------------------------------------------------
create function public.cleanup_old_traces(
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

-- -----------------------------------------------------------------------------
-- Rate-limit windows
-- -----------------------------------------------------------------------------
create function public.cleanup_rate_limit_logs(
  p_older_than interval default '1 day',
  p_batch_size integer default 10000,
  p_now timestamptz default now()
)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with doomed as (
    select l.id from public.rate_limit_logs l
    where l.window_start < p_now - p_older_than
    order by l.window_start
    limit p_batch_size
    for update skip locked
  ),
  deleted as (
    delete from public.rate_limit_logs l using doomed where l.id = doomed.id
    returning 1
  )
  select count(*)::integer from deleted
$$;

comment on function public.cleanup_rate_limit_logs(interval, integer, timestamptz) is
  'Deletes one batch of rate-limit windows that started more than p_older_than ago. Returns how many.';

-- -----------------------------------------------------------------------------
-- Sync runs
-- -----------------------------------------------------------------------------
create function public.cleanup_batch_runs(
  p_keep_days integer default 30,
  p_batch_size integer default 1000,
  p_now timestamptz default now()
)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with doomed as (
    select r.id from public.langfuse_batch_runs r
    where r.completed_at is not null and r.created_at < p_now - make_interval(days => p_keep_days)
    order by r.created_at
    limit p_batch_size
    for update skip locked
  ),
  deleted as (
    delete from public.langfuse_batch_runs r using doomed where r.id = doomed.id
    returning 1
  )
  select count(*)::integer from deleted
$$;

comment on function public.cleanup_batch_runs(integer, integer, timestamptz) is
  'Deletes one batch of completed sync runs older than p_keep_days; unfinished runs stay. Returns how many.';

revoke execute on function
  public.cleanup_old_traces(integer, integer, timestamptz),
  public.cleanup_rate_limit_logs(interval, integer, timestamptz),
  public.cleanup_batch_runs(integer, integer, timestamptz)
from public, anon, authenticated;

grant execute on function
  public.cleanup_old_traces(integer, integer, timestamptz),
  public.cleanup_rate_limit_logs(interval, integer, timestamptz),
  public.cleanup_batch_runs(integer, integer, timestamptz)
to service_role;
