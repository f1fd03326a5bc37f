-- =============================================================================
-- User settings: the user's time zone.
--
-- Derived scores count in the user's local days (the day after a message, the
-- day of a mission, the ISO week). A user without a row, or with the default,
-- lives in UTC. Users read and change only their own row.
-- Rollback: supabase/rollbacks/20251122000004_add_user_settings.down.sql
-- =============================================================================

create function public.is_time_zone(p_name text)
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

create table public.user_settings (
  user_id uuid primary key references auth.users (id) on delete cascade,
  time_zone text not null default 'UTC' check (public.is_time_zone(time_zone)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.user_settings is
  'Per-user settings. time_zone (IANA) decides the user''s local days for derived scores; UTC by default.';

alter table public.user_settings enable row level security;

create policy "Users can view their own settings"
  on public.user_settings for select
  to authenticated
  using ((select auth.uid()) = user_id);

create policy "Users can create their own settings"
  on public.user_settings for insert
  to authenticated
  with check ((select auth.uid()) = user_id);

create policy "Users can change their own settings"
  on public.user_settings for update
  to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

revoke all on table public.user_settings from anon, authenticated;
grant select on table public.user_settings to authenticated;
grant insert (user_id, time_zone) on table public.user_settings to authenticated;
grant update (time_zone, updated_at) on table public.user_settings to authenticated;
grant select, insert, update, delete on table public.user_settings to service_role;

revoke execute on function public.is_time_zone(text) from public, anon;
grant execute on function public.is_time_zone(text) to authenticated, service_role;
