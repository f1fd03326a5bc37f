-- =============================================================================
-- Rollback of 20251205000005_daily_status_window_constants.sql: the window
-- from app.daily_status_days_back and app.daily_status_days_ahead again, as in
-- 20251130000003.
-- =============================================================================

create or replace function public.daily_status_date_allowed(
  p_user_id uuid,
  p_date date,
  p_at timestamptz default now()
)
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select p_date between today.d - coalesce(nullif(current_setting('app.daily_status_days_back', true), '')::integer, 7)
                    and today.d + coalesce(nullif(current_setting('app.daily_status_days_ahead', true), '')::integer, 1)
  from (select public.user_local_date(p_user_id, p_at) as d) today
$$;

comment on function public.daily_status_date_allowed(uuid, date, timestamptz) is
  'Whether a daily status may be written for p_date: from the user''s local today minus app.daily_status_days_back (7) to plus app.daily_status_days_ahead (1).';
