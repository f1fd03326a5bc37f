-- =============================================================================
-- The daily-status window is a constant, not a setting (issue 21).
--
-- daily_status_date_allowed read app.daily_status_days_back and
-- app.daily_status_days_ahead with current_setting, and the insert and
-- update policies of daily_statuses call it as the user. A setting is the
-- session's to change: set_config('app.daily_status_days_back', '100000',
-- true) in the user's own transaction let a status dated 2001-01-01 through.
-- The window is now 7 days back and 1 ahead of the user's day, in the
-- function's text; changing it is a migration.
-- Rollback: supabase/rollbacks/20251205000005_daily_status_window_constants.down.sql
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
  select p_date between today.d - 7 and today.d + 1
  from (select public.user_local_date(p_user_id, p_at) as d) today
$$;

comment on function public.daily_status_date_allowed(uuid, date, timestamptz) is
  'Whether a daily status may be written for p_date: from 7 days before the user''s day at p_at to 1 day after it.';
