-- =============================================================================
-- Derived scores count in the user's days as user_day() gives them (issue 21).
--
-- A trace's day was its local date in the time zone of user_settings at the
-- time the score was derived, so a user who moved afterwards moved their past
-- traces into other days: a message could land on "the next day", another
-- day's mission could count. Now a trace belongs to the user's day at the
-- moment it was made, which no later change reaches:
--
--   unscored_traces()              each trace with its day and when that day ends
--   derive_next_day_activity()     the next day is the user's day that begins
--                                  when the trace's ends; scored once it ends
--   derive_mission_completed()     scored once the trace's day ends
--   derive_weekly_completion_rate() scored once the user's first day after
--                                  the ISO week begins
--
-- Rollback: supabase/rollbacks/20251205000004_derived_scores_in_user_days.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- The traces a rule still has to score, each in the user's day it was made in
-- -----------------------------------------------------------------------------
drop function public.unscored_traces(text, timestamptz, interval, integer, text);

create function public.unscored_traces(
  p_score_name text,
  p_now timestamptz,
  p_lookback interval,
  p_limit integer,
  p_entity_type text default null
)
returns table (trace_id uuid, user_id uuid, day date, day_ends_at timestamptz)
language sql
stable
security invoker
set search_path = ''
as $$
  select t.trace_id, t.user_id, made.day, made.ends_at
  from public.langfuse_traces t
  cross join lateral public.user_day(t.user_id, t.created_at) made
  where t.created_at >= p_now - p_lookback
    and (p_entity_type is null or t.entity_type = p_entity_type)
    and not exists (
      select 1 from public.langfuse_scores s
      where s.trace_id = t.trace_id and s.score_name = p_score_name
    )
  order by t.created_at
  limit p_limit
$$;

comment on function public.unscored_traces(text, timestamptz, interval, integer, text) is
  'Traces within the lookback, oldest first, that have no score of this name yet, with the user''s day they were made in and when it ends.';

-- -----------------------------------------------------------------------------
-- next_day_activity
-- -----------------------------------------------------------------------------
create or replace function public.derive_next_day_activity(
  p_now timestamptz default now(),
  p_lookback interval default '35 days',
  p_limit integer default 5000
)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with candidates as (
    select * from public.unscored_traces('next_day_activity', p_now, p_lookback, p_limit, 'ai_coach_message')
  ),
  closed as (
    select c.trace_id, c.user_id, next.day as next_day,
           c.day_ends_at as next_start, next.ends_at as next_end
    from candidates c
    cross join lateral public.user_day(c.user_id, c.day_ends_at) next
    where next.ends_at <= p_now
  ),
  scored as (
    select c.trace_id, c.next_day,
      exists (
        select 1 from public.ai_coach_messages m
        where m.user_id = c.user_id and m.role = 'user'
          and m.created_at >= c.next_start and m.created_at < c.next_end
      )
      or exists (
        select 1 from public.reflections r
        where r.user_id = c.user_id and r.created_at >= c.next_start and r.created_at < c.next_end
      )
      or exists (
        select 1 from public.daily_statuses d
        where d.user_id = c.user_id and d.status_date = c.next_day
      ) as active
    from closed c
  ),
  inserted as (
    insert into public.langfuse_scores (trace_id, score_name, value, metadata)
    select trace_id, 'next_day_activity', case when active then 1 else 0 end,
           jsonb_build_object('day', next_day::text)
    from scored
    on conflict (trace_id, score_name) do nothing
    returning 1
  )
  select count(*)::integer from inserted
$$;

-- -----------------------------------------------------------------------------
-- mission_completed
-- -----------------------------------------------------------------------------
create or replace function public.derive_mission_completed(
  p_now timestamptz default now(),
  p_lookback interval default '35 days',
  p_limit integer default 5000
)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with candidates as (
    select * from public.unscored_traces('mission_completed', p_now, p_lookback, p_limit)
  ),
  inserted as (
    insert into public.langfuse_scores (trace_id, score_name, value, metadata)
    select c.trace_id, 'mission_completed', case when d.mission_completed then 1 else 0 end,
           jsonb_build_object('day', c.day::text, 'mission', d.mission)
    from candidates c
    join public.daily_statuses d on d.user_id = c.user_id and d.status_date = c.day
    where d.mission is not null
      and c.day_ends_at <= p_now
    on conflict (trace_id, score_name) do nothing
    returning 1
  )
  select count(*)::integer from inserted
$$;

-- -----------------------------------------------------------------------------
-- weekly_completion_rate
-- -----------------------------------------------------------------------------
create or replace function public.derive_weekly_completion_rate(
  p_threshold numeric default 0.5,
  p_now timestamptz default now(),
  p_lookback interval default '35 days',
  p_limit integer default 5000
)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with candidates as (
    select u.trace_id, u.user_id, date_trunc('week', u.day)::date as week_start
    from public.unscored_traces('weekly_completion_rate', p_now, p_lookback, p_limit) u
  ),
  weeks as (
    select c.trace_id, c.week_start,
           count(d.id) filter (where d.mission is not null) as planned,
           count(d.id) filter (where d.mission is not null and d.mission_completed) as completed
    from candidates c
    left join public.daily_statuses d
      on d.user_id = c.user_id and d.status_date >= c.week_start and d.status_date < c.week_start + 7
    where public.user_day_starts(c.user_id, c.week_start + 7) <= p_now
    group by c.trace_id, c.week_start
  ),
  inserted as (
    insert into public.langfuse_scores (trace_id, score_name, value, metadata)
    select w.trace_id, 'weekly_completion_rate',
           case when w.completed::numeric / w.planned >= p_threshold then 1 else 0 end,
           jsonb_build_object(
             'week_start', w.week_start::text,
             'rate', round(w.completed::numeric / w.planned, 4),
             'completed', w.completed,
             'planned', w.planned,
             'threshold', p_threshold
           )
    from weeks w
    where w.planned > 0
    on conflict (trace_id, score_name) do nothing
    returning 1
  )
  select count(*)::integer from inserted
$$;

-- -----------------------------------------------------------------------------
-- Only the service role derives scores (unscored_traces was dropped and made again)
-- -----------------------------------------------------------------------------
revoke execute on function public.unscored_traces(text, timestamptz, interval, integer, text)
  from public, anon, authenticated;
grant execute on function public.unscored_traces(text, timestamptz, interval, integer, text)
  to service_role;
