-- =============================================================================
-- Daily statuses only for the user's recent days.
--
-- A status may be posted for the user's local today, up to
-- app.daily_status_days_back days before it (default 7) and
-- app.daily_status_days_ahead days after it (default 1), in the user's time
-- zone (user_settings). Without this a user could post statuses for any date,
-- backdating activity and inflating next_day_activity and mission_completed.
--
-- The daily-status function checks the same rule (daily_status_date_allowed)
-- before it counts the request or calls the LLM; these policies hold it for
-- direct writes with the user's own grants. Change the window without a
-- deploy:  alter database postgres set app.daily_status_days_back = '14';
-- Rollback: supabase/rollbacks/20251130000003_add_daily_status_window.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- The user's local day and the window
-- -----------------------------------------------------------------------------
create function public.user_local_date(p_user_id uuid, p_at timestamptz default now())
returns date
language sql
stable
security invoker
set search_path = ''
as $$
  select (p_at at time zone public.user_time_zone(p_user_id))::date
$$;

comment on function public.user_local_date(uuid, timestamptz) is
  'The user''s local calendar day at p_at, in their time zone (UTC when unset).';

create function public.daily_status_date_allowed(
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

-- Policies run as the user: they need the functions (user_settings' RLS still
-- limits user_time_zone to the caller's own row; another user reads as UTC).
revoke execute on function
  public.user_local_date(uuid, timestamptz),
  public.daily_status_date_allowed(uuid, date, timestamptz)
from public, anon;
grant execute on function
  public.user_time_zone(uuid),
  public.user_local_date(uuid, timestamptz),
  public.daily_status_date_allowed(uuid, date, timestamptz)
to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- daily_statuses: writes only inside the window
-- -----------------------------------------------------------------------------
drop policy "Users can write their own daily statuses" on public.daily_statuses;
drop policy "Users can edit their own daily statuses" on public.daily_statuses;

create policy "Users can write their own recent daily statuses"
  on public.daily_statuses for insert
  to authenticated
  with check (
    (select auth.uid()) = user_id
    and public.daily_status_date_allowed((select auth.uid()), status_date)
  );

create policy "Users can edit their own recent daily statuses"
  on public.daily_statuses for update
  to authenticated
  using ((select auth.uid()) = user_id)
  with check (
    (select auth.uid()) = user_id
    and public.daily_status_date_allowed((select auth.uid()), status_date)
  );
