-- =============================================================================
-- Journal tables: what a user records about their days.
--
--   reflections     a reflection the user writes, and the coach's answer to it
--   daily_statuses  the user's status for one day, with that day's mission and
--                   whether it was completed
--
-- A user reads and writes only their own rows. The coach's text (coach_reply,
-- coach_comment) is written by Edge Functions, so no user grant covers it.
-- Rollback: supabase/rollbacks/20251113000002_create_journal_tables.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- reflections
-- -----------------------------------------------------------------------------
create table public.reflections (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  body text not null check (char_length(body) between 1 and 8000),
  coach_reply text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.reflections is
  'A reflection written by the user; coach_reply is the coach''s answer, written by the reflection function.';

create index idx_reflections_user_id_created_at on public.reflections (user_id, created_at);

alter table public.reflections enable row level security;

create policy "Users can view their own reflections"
  on public.reflections for select
  to authenticated
  using ((select auth.uid()) = user_id);

create policy "Users can write their own reflections"
  on public.reflections for insert
  to authenticated
  with check ((select auth.uid()) = user_id);

create policy "Users can edit their own reflections"
  on public.reflections for update
  to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

create policy "Users can delete their own reflections"
  on public.reflections for delete
  to authenticated
  using ((select auth.uid()) = user_id);

revoke all on table public.reflections from anon, authenticated;
grant select, delete on table public.reflections to authenticated;
grant insert (user_id, body) on table public.reflections to authenticated;
grant update (body, updated_at) on table public.reflections to authenticated;
grant select, insert, update, delete on table public.reflections to service_role;

-- -----------------------------------------------------------------------------
-- daily_statuses
-- -----------------------------------------------------------------------------
create table public.daily_statuses (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  status_date date not null,
  mood smallint check (mood between 1 and 5),
  note text check (char_length(note) <= 8000),
  mission text check (char_length(mission) <= 1000),
  mission_completed boolean not null default false,
  mission_completed_at timestamptz,
  coach_comment text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint daily_statuses_one_per_day unique (user_id, status_date),
  constraint daily_statuses_completed_at_matches
    check (mission_completed = (mission_completed_at is not null))
);

comment on table public.daily_statuses is
  'The user''s status for one of their local days: mood, note, the day''s mission and whether it was completed.';
comment on column public.daily_statuses.status_date is
  'The user''s local calendar day this status is for.';
comment on column public.daily_statuses.mission_completed_at is
  'When the mission was marked completed; set exactly when mission_completed is true.';
comment on column public.daily_statuses.coach_comment is
  'The coach''s comment on the day, written by the daily-status function.';

-- The unique (user_id, status_date) index also serves the policies' user_id filter.

alter table public.daily_statuses enable row level security;

create policy "Users can view their own daily statuses"
  on public.daily_statuses for select
  to authenticated
  using ((select auth.uid()) = user_id);

create policy "Users can write their own daily statuses"
  on public.daily_statuses for insert
  to authenticated
  with check ((select auth.uid()) = user_id);

create policy "Users can edit their own daily statuses"
  on public.daily_statuses for update
  to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

create policy "Users can delete their own daily statuses"
  on public.daily_statuses for delete
  to authenticated
  using ((select auth.uid()) = user_id);

revoke all on table public.daily_statuses from anon, authenticated;
grant select, delete on table public.daily_statuses to authenticated;
grant insert (user_id, status_date, mood, note, mission, mission_completed, mission_completed_at)
  on table public.daily_statuses to authenticated;
grant update (mood, note, mission, mission_completed, mission_completed_at, updated_at)
  on table public.daily_statuses to authenticated;
grant select, insert, update, delete on table public.daily_statuses to service_role;
