-- =============================================================================
-- Time zones: real IANA names only (issue 21).
--
-- is_time_zone accepted whatever AT TIME ZONE accepts, POSIX offsets of up to
-- +-167:59:59 included ('UTC+167:59:59', '<+99>-99'): a user could put their
-- local day a week away from the real one and spend the budgets of fourteen
-- days at once. A user's time zone is now a name of Postgres' time zone
-- database, listed in public.time_zones and referenced by user_settings:
--
--   time_zones   pg_timezone_names without the offset-style names (any name
--                with a digit: Etc/GMT+5, GMT-0, EST5EDT), the posix/ and
--                right/ copies some systems install, and the pseudo-zones
--                Factory, localtime and posixrules. A table, not the view
--                itself: pg_timezone_names reads every zone file on each call
--                (about 20 ms), and a foreign key survives dump and restore
--                where a check that reads a table would not.
--
-- Settings holding anything else are set to UTC. A zone added to Postgres'
-- database later is added here by a migration.
-- Rollback: supabase/rollbacks/20251205000001_time_zones_iana_only.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- time_zones
-- -----------------------------------------------------------------------------
create table public.time_zones (
  name text primary key
);

comment on table public.time_zones is
  'The time zones a user may choose: IANA names from Postgres'' time zone database, no offsets.';

insert into public.time_zones (name)
select z.name
from pg_catalog.pg_timezone_names z
where z.name !~ '[0-9]'
  and z.name !~ '^(posix|right)/'
  and z.name not in ('Factory', 'localtime', 'posixrules');

alter table public.time_zones enable row level security;

create policy "Users can read the time zones"
  on public.time_zones for select
  to authenticated
  using (true);

revoke all on table public.time_zones from anon, authenticated;
grant select on table public.time_zones to authenticated;
grant select, insert, update, delete on table public.time_zones to service_role;

-- -----------------------------------------------------------------------------
-- is_time_zone: a name of that list
-- -----------------------------------------------------------------------------
create or replace function public.is_time_zone(p_name text)
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select exists (select 1 from public.time_zones z where z.name = p_name)
$$;

comment on function public.is_time_zone(text) is
  'True when the name is one of public.time_zones (an IANA name such as Asia/Tokyo; no offsets).';

-- -----------------------------------------------------------------------------
-- user_settings.time_zone: one of them
-- -----------------------------------------------------------------------------
update public.user_settings s set time_zone = 'UTC', updated_at = now()
where not exists (select 1 from public.time_zones z where z.name = s.time_zone);

alter table public.user_settings
  drop constraint user_settings_time_zone_check,
  add constraint user_settings_time_zone_fkey
    foreign key (time_zone) references public.time_zones (name);

create index idx_user_settings_time_zone on public.user_settings (time_zone);

comment on column public.user_settings.time_zone is
  'The user''s chosen time zone, one of public.time_zones (UTC by default).';
