-- =============================================================================
-- Rollback of 20251205000001_time_zones_iana_only.sql: the time zone check of
-- 20251122000004 again (any name AT TIME ZONE accepts), without the list.
-- =============================================================================

comment on column public.user_settings.time_zone is null;

drop index public.idx_user_settings_time_zone;

alter table public.user_settings
  drop constraint user_settings_time_zone_fkey;

create or replace function public.is_time_zone(p_name text)
returns boolean
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  perform now() at time zone p_name;
  return true;
exception
  when invalid_parameter_value then return false;
end
$$;

comment on function public.is_time_zone(text) is
  'True when Postgres knows the time zone name (an IANA name such as Asia/Tokyo).';

alter table public.user_settings
  add constraint user_settings_time_zone_check check (public.is_time_zone(time_zone));

drop table public.time_zones;
