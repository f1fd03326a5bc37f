-- =============================================================================
-- Rate limiting: one atomic counter per user, endpoint and fixed window.
--
-- check_rate_limit() counts a request and returns the window's new count, in
-- one statement: INSERT ... ON CONFLICT DO UPDATE takes the row lock, so
-- concurrent requests each see a distinct count and exactly `limit` of them
-- see a count within the limit. The caller decides; the function only counts.
--
-- security definer, because rate_limit_logs is service-only; search_path is
-- empty and every name is qualified. Only the service role may execute it.
-- Rollback: supabase/rollbacks/20251122000001_add_rate_limit_check.down.sql
-- =============================================================================

create function public.check_rate_limit(
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

comment on function public.check_rate_limit(uuid, text, integer, timestamptz) is
  'Counts one request of a user to an endpoint in the fixed window containing p_now; returns the count so far and the window bounds.';

revoke execute on function public.check_rate_limit(uuid, text, integer, timestamptz)
  from public, anon, authenticated;
grant execute on function public.check_rate_limit(uuid, text, integer, timestamptz)
  to service_role;
