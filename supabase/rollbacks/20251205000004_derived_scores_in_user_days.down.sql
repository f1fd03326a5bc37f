-- =============================================================================
-- Rollback of 20251205000004_derived_scores_in_user_days.sql: unscored_traces
-- and the derive functions of 20251122000005 (a trace's day in the time zone
-- of user_settings when the score is derived).
-- =============================================================================

drop function public.unscored_traces(text, timestamptz, interval, integer, text);

create function public.unscored_traces(
  p_score_name text,
  p_now timestamptz,
  p_lookback interval,
  p_limit integer,
  p_entity_type text default null
)
returns table (trace_id uuid, user_id uuid, time_zone text, day date)
language sql
stable
security invoker
set search_path = ''
as $$
  select t.trace_id, t.user_id, zone.name, (t.created_at at time zone zone.name)::date
  from public.langfuse_traces t
  cross join lateral (select public.user_time_zone(t.user_id) as name) zone
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
  'Traces within the lookback, oldest first, that have no score of this name yet, with the user''s local day.';

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
    select c.trace_id, c.user_id, c.day,
           (c.day + 1)::timestamp at time zone c.time_zone as next_start,
           (c.day + 2)::timestamp at time zone c.time_zone as next_end
    from candidates c
    where (c.day + 2)::timestamp at time zone c.time_zone <= p_now
  ),
  scored as (
    select c.trace_id, c.day,
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
        where d.user_id = c.user_id and d.status_date = c.day + 1
      ) as active
    from closed c
  ),
  inserted as (
    insert into public.langfuse_scores (trace_id, score_name, value, metadata)
    select trace_id, 'next_day_activity', case when active then 1 else 0 end,
           jsonb_build_object('day', (day + 1)::text)
    from scored
    on conflict (trace_id, score_name) do nothing
    returning 1
  )
  select count(*)::integer from inserted
$$;

comment on function public.derive_next_day_activity(timestamptz, interval, integer) is
  'Creates next_day_activity for ai_coach_message traces whose next local day has ended. Returns how many.';

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
      and (c.day + 1)::timestamp at time zone c.time_zone <= p_now
    on conflict (trace_id, score_name) do nothing
    returning 1
  )
  select count(*)::integer from inserted
$$;

comment on function public.derive_mission_completed(timestamptz, interval, integer) is
  'Creates mission_completed for traces on local days that had a mission and have ended. Returns how many.';

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
    select u.trace_id, u.user_id, u.time_zone, date_trunc('week', u.day)::date as week_start
    from public.unscored_traces('weekly_completion_rate', p_now, p_lookback, p_limit) u
  ),
  weeks as (
    select c.trace_id, c.week_start,
           count(d.id) filter (where d.mission is not null) as planned,
           count(d.id) filter (where d.mission is not null and d.mission_completed) as completed
    from candidates c
    left join public.daily_statuses d
      on d.user_id = c.user_id and d.status_date >= c.week_start and d.status_date < c.week_start + 7
    where (c.week_start + 7)::timestamp at time zone c.time_zone <= p_now
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

comment on function public.derive_weekly_completion_rate(numeric, timestamptz, interval, integer) is
  'Creates weekly_completion_rate for traces in ended local ISO weeks that had missions. Returns how many.';

revoke execute on function public.unscored_traces(text, timestamptz, interval, integer, text)
  from public, anon, authenticated;
grant execute on function public.unscored_traces(text, timestamptz, interval, integer, text)
  to service_role;
