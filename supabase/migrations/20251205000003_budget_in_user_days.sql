-- =============================================================================
-- Budgets count in the user's days as user_day() gives them (issue 21).
--
-- The day and month of a reservation were the local date of the time zone
-- in user_settings at that moment, so a user who moved reached another
-- date's budget at once, or the month that had ended. Now:
--
--   reserve_budget()   the day is user_day() at the call (one index read of
--                      the user's time zone periods beside the plan); a day
--                      resets when it ends, a month when the user's first day
--                      of the next month begins (user_day_starts)
--   my_budget          the same day and month, and their reset times
--   budget_overview    today and this month of each user by user_day()
--
-- Rollback: supabase/rollbacks/20251205000003_budget_in_user_days.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- reserve_budget
-- -----------------------------------------------------------------------------
create or replace function public.reserve_budget(
  p_user_id uuid,
  p_tokens bigint,
  p_cost numeric,
  p_now timestamptz default now()
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_plan record;
  v_day date;
  v_month date;
  v_day_reset timestamptz;
  v_cost numeric := coalesce(p_cost, 0);
  v_month_used numeric := 0;
  v_month_reserved numeric := 0;
  v_month_ok boolean;
  v_reserved boolean := false;
  v_refused text;
  d record;
begin
  -- The plan and the user's day, in one read.
  select p.name, p.tokens_per_day as tpd, p.cost_usd_per_day as cpd, p.cost_usd_per_month as cpm,
    p.unpriced_models, today.day, today.ends_at
  into v_plan
  from public.plans p
  left join public.user_settings s on s.user_id = p_user_id
  cross join public.user_day(p_user_id, p_now) today
  where p.name = coalesce(s.plan, (select dp.name from public.plans dp where dp.is_default));
  if not found then
    return jsonb_build_object('ok', true, 'plan', null);
  end if;
  if p_cost is null and (v_plan.cpd is not null or v_plan.cpm is not null)
     and v_plan.unpriced_models = 'refuse' then
    return jsonb_build_object('ok', false, 'plan', v_plan.name, 'limit', 'unpriced_model');
  end if;
  v_day := v_plan.day;
  v_month := date_trunc('month', v_day)::date;
  v_day_reset := v_plan.ends_at;

  -- A month limit: the user's reservations one at a time (the lock is the
  -- transaction's, released at its commit, after which the next reads the
  -- month with this reservation in it). A settlement only ever lowers what
  -- the month holds, so it needs no lock.
  if v_plan.cpm is not null then
    perform pg_advisory_xact_lock(hashtextextended('public.budget_usage ' || p_user_id::text, 0));
    select coalesce(sum(u.cost_used), 0), coalesce(sum(u.cost_reserved), 0)
    into v_month_used, v_month_reserved
    from public.budget_usage u
    where u.user_id = p_user_id and u.window_kind = 'day'
      and u.window_start >= v_month and u.window_start < (v_month + interval '1 month')::date;
  end if;

  -- The day: one upsert that reserves only if the day stays within its
  -- limits and the month has room, and locks the day row either way, so
  -- concurrent reservations of one user queue here.
  v_month_ok := v_plan.cpm is null or v_month_used + v_month_reserved + v_cost <= v_plan.cpm;
  if (v_plan.tpd is null or p_tokens <= v_plan.tpd) and (v_plan.cpd is null or v_cost <= v_plan.cpd)
     and v_month_ok then
    insert into public.budget_usage as u
      (user_id, window_kind, window_start, tokens_reserved, cost_reserved, updated_at)
    values (p_user_id, 'day', v_day, p_tokens, v_cost, p_now)
    on conflict (user_id, window_kind, window_start) do update set
      tokens_reserved = u.tokens_reserved + excluded.tokens_reserved,
      cost_reserved = u.cost_reserved + excluded.cost_reserved,
      updated_at = excluded.updated_at
    where (v_plan.tpd is null or u.tokens_used + u.tokens_reserved + excluded.tokens_reserved <= v_plan.tpd)
      and (v_plan.cpd is null or u.cost_used + u.cost_reserved + excluded.cost_reserved <= v_plan.cpd)
    returning u.tokens_used, u.tokens_reserved, u.cost_used, u.cost_reserved into d;
    v_reserved := found;
  end if;
  if not v_reserved then
    -- Which limit refuses: a day limit is named before the month's.
    select case
        when v_plan.tpd is not null and coalesce(u.tokens_used + u.tokens_reserved, 0) + p_tokens > v_plan.tpd
        then 'tokens_per_day'
        when v_plan.cpd is not null and coalesce(u.cost_used + u.cost_reserved, 0) + v_cost > v_plan.cpd
        then 'cost_usd_per_day'
        when v_month_ok then 'cost_usd_per_day' -- the month had room: the day refused
        else 'cost_usd_per_month'
      end
    into v_refused
    from (select 1) one
    left join public.budget_usage u
      on u.user_id = p_user_id and u.window_kind = 'day' and u.window_start = v_day;
  end if;

  if v_refused = 'cost_usd_per_month' then
    return jsonb_build_object('ok', false, 'plan', v_plan.name, 'limit', v_refused,
      'limit_value', v_plan.cpm, 'used', v_month_used, 'reserved', v_month_reserved,
      'asked', v_cost,
      'resets_at', public.user_day_starts(p_user_id, (v_month + interval '1 month')::date));
  end if;
  if v_refused is not null then
    return (
      select jsonb_build_object('ok', false, 'plan', v_plan.name, 'limit', v_refused,
        'limit_value', case v_refused when 'tokens_per_day' then v_plan.tpd else v_plan.cpd end,
        'used', coalesce(case v_refused when 'tokens_per_day' then u.tokens_used else u.cost_used end, 0),
        'reserved', coalesce(case v_refused when 'tokens_per_day' then u.tokens_reserved else u.cost_reserved end, 0),
        'asked', case v_refused when 'tokens_per_day' then p_tokens else v_cost end,
        'resets_at', v_day_reset)
      from (select 1) one
      left join public.budget_usage u
        on u.user_id = p_user_id and u.window_kind = 'day' and u.window_start = v_day
    );
  end if;

  return jsonb_build_object(
    'ok', true, 'plan', v_plan.name, 'day', v_day, 'month', v_month,
    'tokens', p_tokens, 'cost', v_cost, 'unpriced', p_cost is null,
    'policy', jsonb_build_object('tokens_per_day', v_plan.tpd, 'cost_usd_per_day', v_plan.cpd,
      'cost_usd_per_month', v_plan.cpm),
    'tokens_remaining', v_plan.tpd - d.tokens_used - d.tokens_reserved,
    'tokens_resets_at', v_day_reset,
    'cost_remaining', least(v_plan.cpd - d.cost_used - d.cost_reserved,
      v_plan.cpm - v_month_used - v_month_reserved - v_cost),
    'cost_resets_at', case when v_plan.cpd is null
      then public.user_day_starts(p_user_id, (v_month + interval '1 month')::date) else v_day_reset end
  );
end
$$;

-- -----------------------------------------------------------------------------
-- What users see: their budget in their days
-- -----------------------------------------------------------------------------
create or replace view public.my_budget
with (security_invoker = true)
as
with me as (
  select (select auth.uid()) as user_id, today.day, today.ends_at,
    date_trunc('month', today.day)::date as month_start
  from public.user_day((select auth.uid()), now()) today
),
windows as (
  select me.user_id, 'day'::text as window_kind, me.day as window_start,
         me.day + 1 as window_end, me.ends_at as resets_at
  from me
  union all
  select me.user_id, 'month', me.month_start, (me.month_start + interval '1 month')::date,
         public.user_day_starts(me.user_id, (me.month_start + interval '1 month')::date)
  from me
)
select
  p.name as plan,
  w.window_kind,
  w.window_start,
  l.measure,
  l.limit_value,
  coalesce(case l.measure when 'tokens' then u.tokens_used else u.cost_used end, 0) as used,
  coalesce(case l.measure when 'tokens' then u.tokens_reserved else u.cost_reserved end, 0) as reserved,
  l.limit_value
    - coalesce(case l.measure when 'tokens' then u.tokens_used + u.tokens_reserved
                              else u.cost_used + u.cost_reserved end, 0) as remaining,
  w.resets_at
from windows w
cross join lateral public.user_plan(w.user_id) p
cross join lateral (
  values
    ('tokens', case w.window_kind when 'day' then p.tokens_per_day::numeric end),
    ('cost_usd', case w.window_kind when 'day' then p.cost_usd_per_day else p.cost_usd_per_month end)
) as l (measure, limit_value)
left join lateral (
  select sum(b.tokens_used) as tokens_used, sum(b.tokens_reserved) as tokens_reserved,
         sum(b.cost_used) as cost_used, sum(b.cost_reserved) as cost_reserved
  from public.budget_usage b
  where b.user_id = w.user_id and b.window_kind = 'day'
    and b.window_start >= w.window_start and b.window_start < w.window_end
) u on true
where p.name is not null
  and not (w.window_kind = 'month' and l.measure = 'tokens');

-- -----------------------------------------------------------------------------
-- What the operator sees: spend against budget, every user, in their days
-- -----------------------------------------------------------------------------
create or replace view public.budget_overview
with (security_invoker = true)
as
select
  u.user_id,
  p.name as plan,
  coalesce(d.tokens_used, 0) as tokens_today,
  p.tokens_per_day,
  coalesce(d.cost_used, 0) as cost_usd_today,
  p.cost_usd_per_day,
  coalesce(m.cost_used, 0) as cost_usd_this_month,
  p.cost_usd_per_month,
  greatest(
    coalesce(d.tokens_used + d.tokens_reserved, 0)::numeric / nullif(p.tokens_per_day, 0),
    coalesce(d.cost_used + d.cost_reserved, 0) / nullif(p.cost_usd_per_day, 0),
    coalesce(m.cost_used + m.cost_reserved, 0) / nullif(p.cost_usd_per_month, 0)
  ) as share_of_tightest_limit,
  case
    when greatest(
      coalesce(d.tokens_used + d.tokens_reserved, 0)::numeric / nullif(p.tokens_per_day, 0),
      coalesce(d.cost_used + d.cost_reserved, 0) / nullif(p.cost_usd_per_day, 0),
      coalesce(m.cost_used + m.cost_reserved, 0) / nullif(p.cost_usd_per_month, 0)
    ) >= 1 then 'over'
    when greatest(
      coalesce(d.tokens_used + d.tokens_reserved, 0)::numeric / nullif(p.tokens_per_day, 0),
      coalesce(d.cost_used + d.cost_reserved, 0) / nullif(p.cost_usd_per_day, 0),
      coalesce(m.cost_used + m.cost_reserved, 0) / nullif(p.cost_usd_per_month, 0)
    ) >= 0.8 then 'near'
    else 'ok'
  end as status
from (select distinct user_id from public.budget_usage) u
cross join lateral public.user_plan(u.user_id) p
cross join lateral (
  select today.day, date_trunc('month', today.day)::date as month_start
  from public.user_day(u.user_id, now()) today
) local_day
left join public.budget_usage d
  on d.user_id = u.user_id and d.window_kind = 'day' and d.window_start = local_day.day
left join lateral (
  select sum(b.cost_used) as cost_used, sum(b.cost_reserved) as cost_reserved
  from public.budget_usage b
  where b.user_id = u.user_id and b.window_kind = 'day'
    and b.window_start >= local_day.month_start
    and b.window_start < (local_day.month_start + interval '1 month')::date
) m on true;
