-- =============================================================================
-- Rollback of 20251122000010_rate_limit_check_plpgsql.sql: back to the
-- SQL-language body of 20251122000001 (same signature; grants are kept).
-- =============================================================================

create or replace function public.check_rate_limit(
  p_user_id uuid,
  p_endpoint text,
  p_window_seconds integer,
  p_now timestamptz default now()
)
returns table (request_count integer, window_start timestamptz, window_end timestamptz)
language sql
volatile
security definer
set search_path = ''
as $$
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
$$;
