-- =============================================================================
-- Derived scores: what the app's own data says about a coaching trace.
--
--   next_day_activity       1 if the user was active (a message to the coach, a
--                           reflection or a daily status) on the local day after
--                           the traced message, 0 if that day passed without
--   mission_completed       for a trace on a day whose daily status has a
--                           mission: 1 if it was completed that day, else 0
--   weekly_completion_rate  for a trace in an ISO week with missions: 1 if the
--                           share of completed missions reached the threshold;
--                           the rate itself goes in metadata
--
-- Days are the user's local days (user_settings.time_zone, UTC by default).
-- Each score is created once per trace (unique trace_id, score_name) and only
-- after its window has closed, so it never changes afterwards. Traces older
-- than the lookback are left alone. The sync calls derive_scores() each run.
-- Rollback: supabase/rollbacks/20251122000005_add_derived_scores.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- The user's time zone
-- -----------------------------------------------------------------------------
create function public.user_time_zone(p_user_id uuid)
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

-- -----------------------------------------------------------------------------
-- The traces a rule still has to score
-- -----------------------------------------------------------------------------
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

-- -----------------------------------------------------------------------------
-- next_day_activity
-- -----------------------------------------------------------------------------
create function public.derive_next_day_activity(
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
create function public.derive_mission_completed(
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
create function public.derive_weekly_completion_rate(
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

-- -----------------------------------------------------------------------------
-- All of them, for the sync
-- -----------------------------------------------------------------------------
create function public.derive_scores(p_now timestamptz default now(), p_threshold numeric default 0.5)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  next_day integer := public.derive_next_day_activity(p_now);
  missions integer := public.derive_mission_completed(p_now);
  weekly integer := public.derive_weekly_completion_rate(p_threshold, p_now);
begin
  return jsonb_build_object(
    'next_day_activity', next_day,
    'mission_completed', missions,
    'weekly_completion_rate', weekly,
    'total', next_day + missions + weekly
  );
end
$$;

comment on function public.derive_scores(timestamptz, numeric) is
  'Creates every due derived score; returns the count per name and the total.';

-- -----------------------------------------------------------------------------
-- Only the service role derives scores
-- -----------------------------------------------------------------------------
revoke execute on function
  public.user_time_zone(uuid),
  public.unscored_traces(text, timestamptz, interval, integer, text),
  public.derive_next_day_activity(timestamptz, interval, integer),
  public.derive_mission_completed(timestamptz, interval, integer),
  public.derive_weekly_completion_rate(numeric, timestamptz, interval, integer),
  public.derive_scores(timestamptz, numeric)
from public, anon, authenticated;

grant execute on function
  public.user_time_zone(uuid),
  public.unscored_traces(text, timestamptz, interval, integer, text),
  public.derive_next_day_activity(timestamptz, interval, integer),
  public.derive_mission_completed(timestamptz, interval, integer),
  public.derive_weekly_completion_rate(numeric, timestamptz, interval, integer),
  public.derive_scores(timestamptz, numeric)
to service_role;
