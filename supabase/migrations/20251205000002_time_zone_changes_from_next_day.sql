-- =============================================================================
-- A time zone change takes effect when the user's current day ends (issue 21).
--
-- Budgets, the daily-status window and the derived scores count in the user's
-- local days. When a change took effect at once, a user could move between
-- zones and reach three local dates at one moment (fourteen with offsets),
-- spending each date's budget and going back into a month that had ended.
-- Now a user's days follow one another in real time, each the local day of
-- the zone in force when it began:
--
--   user_time_zone_periods  from starts_at on, the user's days are local days
--                           of time_zone; first_day is the day that opens at
--                           starts_at (null for a zone held from the start).
--                           Written by change_time_zone only.
--   user_day()              the user's day at an instant: its date, when it
--                           ends, its zone
--   user_day_starts()       when the user's first day on or after a date
--                           begins, by the changes made so far
--   change_time_zone()      called when user_settings.time_zone changes:
--                           the new zone takes effect when the current day
--                           ends (or the latest day with budget usage, if a
--                           function's clock has put that ahead). The day
--                           that opens then is dated after the one that
--                           closes, and lasts at least 12 hours: days never go
--                           back, and a real 24 hours holds at most three
--                           (two for a user who never moves). A later change
--                           during the same day replaces it: one change takes
--                           effect a day. A user with no budget usage, trace
--                           or daily status yet has nothing a zone could
--                           stretch: their first zone holds from the start.
--   user_time_zone(), user_local_date(): the zone and date of user_day()
--
-- Settings already holding a zone keep it from the start.
-- Rollback: supabase/rollbacks/20251205000002_time_zone_changes_from_next_day.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- user_time_zone_periods
-- -----------------------------------------------------------------------------
create table public.user_time_zone_periods (
  user_id uuid not null references auth.users (id) on delete cascade,
  starts_at timestamptz not null,
  time_zone text not null references public.time_zones (name),
  first_day date,
  created_at timestamptz not null default now(),
  primary key (user_id, starts_at),
  constraint user_time_zone_periods_first_day_check
    check ((starts_at = '-infinity') = (first_day is null))
);

comment on table public.user_time_zone_periods is
  'The time zones a user''s days are counted in: from starts_at on, local days of time_zone, the first of them dated first_day.';

create index idx_user_time_zone_periods_time_zone on public.user_time_zone_periods (time_zone);

insert into public.user_time_zone_periods (user_id, starts_at, time_zone)
select s.user_id, '-infinity', s.time_zone from public.user_settings s where s.time_zone <> 'UTC';

alter table public.user_time_zone_periods enable row level security;

create policy "Users can view their own time zone periods"
  on public.user_time_zone_periods for select
  to authenticated
  using ((select auth.uid()) = user_id);

revoke all on table public.user_time_zone_periods from anon, authenticated;
grant select on table public.user_time_zone_periods to authenticated;
grant select, insert, update, delete on table public.user_time_zone_periods to service_role;

-- -----------------------------------------------------------------------------
-- The user's day at an instant. Without a period the user lives in UTC.
-- -----------------------------------------------------------------------------
create function public.user_day(p_user_id uuid, p_at timestamptz default now())
returns table (day date, ends_at timestamptz, time_zone text)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_zone text;
  v_first_day date;
begin
  -- PL/pgSQL, so the read's plan is kept per connection: reserve_budget calls this on every call.
  select s.time_zone, s.first_day into v_zone, v_first_day
  from public.user_time_zone_periods s
  where s.user_id = p_user_id and s.starts_at <= p_at
  order by s.starts_at desc
  limit 1;
  v_zone := coalesce(v_zone, 'UTC');
  -- The period's first day runs from its start to its zone's next midnight.
  if v_first_day is null or p_at >= (v_first_day + 1)::timestamp at time zone v_zone then
    v_first_day := (p_at at time zone v_zone)::date;
  end if;
  return query select v_first_day, (v_first_day + 1)::timestamp at time zone v_zone, v_zone;
end
$$;

comment on function public.user_day(uuid, timestamptz) is
  'The user''s day at p_at: its date, when it ends and the time zone it is counted in.';

create function public.user_day_starts(p_user_id uuid, p_day date)
returns timestamptz
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_period record;
  v_next timestamptz;
begin
  -- The latest period that reaches p_day (UTC from the start without one) ...
  select s.starts_at, s.time_zone, s.first_day into v_period
  from public.user_time_zone_periods s
  where s.user_id = p_user_id and (s.first_day is null or s.first_day <= p_day)
  order by s.starts_at desc
  limit 1;
  if not found then
    select '-infinity'::timestamptz as starts_at, 'UTC'::text as time_zone, null::date as first_day
    into v_period;
  end if;
  -- ... unless the next one begins first (a move east may skip a date).
  select min(n.starts_at) into v_next
  from public.user_time_zone_periods n
  where n.user_id = p_user_id and n.starts_at > v_period.starts_at;
  return least(
    case when v_period.first_day = p_day then v_period.starts_at
      else p_day::timestamp at time zone v_period.time_zone end,
    v_next
  );
end
$$;

comment on function public.user_day_starts(uuid, date) is
  'When the user''s first day dated p_day or later begins, by the time zone changes made so far.';

-- -----------------------------------------------------------------------------
-- The zone and date in force (their callers keep their meaning)
-- -----------------------------------------------------------------------------
create or replace function public.user_time_zone(p_user_id uuid)
returns text
language sql
stable
security invoker
set search_path = ''
as $$
  select today.time_zone from public.user_day(p_user_id, now()) today
$$;

comment on function public.user_time_zone(uuid) is
  'The time zone the user''s current day is counted in (UTC when they never chose one).';

create or replace function public.user_local_date(p_user_id uuid, p_at timestamptz default now())
returns date
language sql
stable
security invoker
set search_path = ''
as $$
  select today.day from public.user_day(p_user_id, p_at) today
$$;

comment on function public.user_local_date(uuid, timestamptz) is
  'The date of the user''s day at p_at (user_day).';

-- -----------------------------------------------------------------------------
-- change_time_zone
-- -----------------------------------------------------------------------------
create function public.change_time_zone(
  p_user_id uuid,
  p_time_zone text,
  p_at timestamptz default now()
)
returns timestamptz
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_today record;
  v_day date;
  v_starts timestamptz;
begin
  -- One change of the user's at a time.
  perform pg_advisory_xact_lock(hashtextextended('public.user_time_zone_periods ' || p_user_id::text, 0));
  if not exists (select 1 from public.budget_usage b where b.user_id = p_user_id)
     and not exists (select 1 from public.langfuse_traces t where t.user_id = p_user_id)
     and not exists (select 1 from public.daily_statuses d where d.user_id = p_user_id) then
    delete from public.user_time_zone_periods s where s.user_id = p_user_id;
    insert into public.user_time_zone_periods (user_id, starts_at, time_zone)
    values (p_user_id, '-infinity', p_time_zone);
    return '-infinity';
  end if;

  -- The day to end first: today's, or the latest day with budget usage when a
  -- function's clock has put that ahead of ours.
  select * into v_today from public.user_day(p_user_id, p_at);
  select max(b.window_start) into v_day
  from public.budget_usage b where b.user_id = p_user_id and b.window_kind = 'day';
  if v_day > v_today.day then
    v_starts := public.user_day_starts(p_user_id, v_day + 1);
  else
    v_day := v_today.day;
    v_starts := v_today.ends_at;
  end if;

  -- A change not yet in force is replaced; back to the zone in force, none is left.
  delete from public.user_time_zone_periods s where s.user_id = p_user_id and s.starts_at >= v_starts;
  if p_time_zone = (select d.time_zone from public.user_day(p_user_id, v_starts) d) then
    return null;
  end if;
  insert into public.user_time_zone_periods (user_id, starts_at, time_zone, first_day)
  values (
    p_user_id, v_starts, p_time_zone,
    greatest(v_day + 1, ((v_starts + interval '12 hours') at time zone p_time_zone)::date)
  );
  return v_starts;
end
$$;

comment on function public.change_time_zone(uuid, text, timestamptz) is
  'Schedules the user''s new time zone for when their current day ends (or from the start, before any activity). Returns when it takes effect; null when the zone in force goes on.';

-- The user changes user_settings through their own grants; the periods are
-- service-only, so the trigger runs as its owner.
create function public.user_settings_time_zone_changed()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' then
    -- Back to UTC, unless the user is being deleted (their periods go with them).
    if exists (select 1 from auth.users u where u.id = old.user_id) then
      perform public.change_time_zone(old.user_id, 'UTC');
    end if;
    return old;
  end if;
  if tg_op = 'INSERT' or new.time_zone is distinct from old.time_zone then
    perform public.change_time_zone(new.user_id, new.time_zone);
  end if;
  return new;
end
$$;

comment on function public.user_settings_time_zone_changed() is
  'Trigger: a changed user_settings.time_zone is scheduled by change_time_zone.';

create trigger user_settings_time_zone_changed
  after insert or update of time_zone or delete on public.user_settings
  for each row execute function public.user_settings_time_zone_changed();

-- -----------------------------------------------------------------------------
-- Grants: policies and views read days as the user; only the service role
-- (and the trigger) schedules changes
-- -----------------------------------------------------------------------------
revoke execute on function
  public.user_day(uuid, timestamptz),
  public.user_day_starts(uuid, date),
  public.change_time_zone(uuid, text, timestamptz),
  public.user_settings_time_zone_changed()
from public, anon, authenticated;
grant execute on function
  public.user_day(uuid, timestamptz),
  public.user_day_starts(uuid, date)
to authenticated, service_role;
grant execute on function public.change_time_zone(uuid, text, timestamptz) to service_role;
