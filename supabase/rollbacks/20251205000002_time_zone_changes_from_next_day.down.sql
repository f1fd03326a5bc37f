-- =============================================================================
-- Rollback of 20251205000002_time_zone_changes_from_next_day.sql: a time zone
-- change takes effect at once again; user_time_zone and user_local_date read
-- user_settings as in 20251122000005 and 20251130000003.
-- =============================================================================

drop trigger user_settings_time_zone_changed on public.user_settings;
drop function public.user_settings_time_zone_changed();
drop function public.change_time_zone(uuid, text, timestamptz);

create or replace function public.user_local_date(p_user_id uuid, p_at timestamptz default now())
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

create or replace function public.user_time_zone(p_user_id uuid)
returns text
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce(
    (select settings.time_zone from public.user_settings settings where settings.user_id = p_user_id),
    'UTC'
  )
$$;

comment on function public.user_time_zone(uuid) is 'The user''s IANA time zone, UTC when unset.';

drop function public.user_day_starts(uuid, date);
drop function public.user_day(uuid, timestamptz);
drop table public.user_time_zone_periods;
