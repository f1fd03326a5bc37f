-- =============================================================================
-- Rollback of 20251130000006_budget_month_from_days.sql: month rows again,
-- rebuilt from the day rows, and the functions and views of 20251130000004
-- =============================================================================

alter table public.budget_usage
  drop constraint budget_usage_window_kind_check,
  add constraint budget_usage_window_kind_check check (window_kind in ('day', 'month'));

comment on table public.budget_usage is
  'Tokens and USD per user and local day or month: used (settled calls) and reserved (calls under way).';

insert into public.budget_usage
  (user_id, window_kind, window_start, tokens_used, tokens_reserved, cost_used, cost_reserved, updated_at)
select user_id, 'month', date_trunc('month', window_start)::date,
  sum(tokens_used), sum(tokens_reserved), sum(cost_used), sum(cost_reserved), max(updated_at)
from public.budget_usage
where window_kind = 'day'
group by user_id, date_trunc('month', window_start)::date;

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
  v_month_reset timestamptz;
  v_cost numeric := coalesce(p_cost, 0);
  v_refused text;
  v_month_reserved boolean := false;
  d record;
  m record;
begin
  -- The plan and the time zone, in one read.
  select p.name, p.tokens_per_day as tpd, p.cost_usd_per_day as cpd, p.cost_usd_per_month as cpm,
    p.unpriced_models, coalesce(s.time_zone, 'UTC') as tz
  into v_plan
  from public.plans p
  left join public.user_settings s on s.user_id = p_user_id
  where p.name = coalesce(s.plan, (select dp.name from public.plans dp where dp.is_default));
  if not found then
    return jsonb_build_object('ok', true, 'plan', null);
  end if;
  if p_cost is null and (v_plan.cpd is not null or v_plan.cpm is not null)
     and v_plan.unpriced_models = 'refuse' then
    return jsonb_build_object('ok', false, 'plan', v_plan.name, 'limit', 'unpriced_model');
  end if;
  v_day := (p_now at time zone v_plan.tz)::date;
  v_month := date_trunc('month', v_day)::date;
  v_day_reset := (v_day + 1)::timestamp at time zone v_plan.tz;
  v_month_reset := (v_month + interval '1 month')::timestamp at time zone v_plan.tz;

  -- One upsert a window, day first, then month (the lock order everywhere):
  -- it reserves only if the window stays within its limits, and locks the row
  -- either way, so concurrent reservations of one user queue here.
  if (v_plan.tpd is null or p_tokens <= v_plan.tpd) and (v_plan.cpd is null or v_cost <= v_plan.cpd) then
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
    if not found then
      select case
          when v_plan.tpd is not null and u.tokens_used + u.tokens_reserved + p_tokens > v_plan.tpd
          then 'tokens_per_day' else 'cost_usd_per_day' end
      into v_refused
      from public.budget_usage u
      where u.user_id = p_user_id and u.window_kind = 'day' and u.window_start = v_day;
    end if;
  else
    v_refused := case when v_plan.tpd is not null and p_tokens > v_plan.tpd
      then 'tokens_per_day' else 'cost_usd_per_day' end;
  end if;

  if v_refused is null then
    if v_plan.cpm is null or v_cost <= v_plan.cpm then
      insert into public.budget_usage as u
        (user_id, window_kind, window_start, tokens_reserved, cost_reserved, updated_at)
      values (p_user_id, 'month', v_month, p_tokens, v_cost, p_now)
      on conflict (user_id, window_kind, window_start) do update set
        tokens_reserved = u.tokens_reserved + excluded.tokens_reserved,
        cost_reserved = u.cost_reserved + excluded.cost_reserved,
        updated_at = excluded.updated_at
      where v_plan.cpm is null or u.cost_used + u.cost_reserved + excluded.cost_reserved <= v_plan.cpm
      returning u.cost_used, u.cost_reserved into m;
      v_month_reserved := found;
    end if;
    if not v_month_reserved then
      v_refused := 'cost_usd_per_month';
      -- The day's reservation goes back.
      update public.budget_usage u set
        tokens_reserved = u.tokens_reserved - p_tokens, cost_reserved = u.cost_reserved - v_cost
      where u.user_id = p_user_id and u.window_kind = 'day' and u.window_start = v_day;
    end if;
  end if;

  if v_refused is not null then
    return (
      select jsonb_build_object('ok', false, 'plan', v_plan.name, 'limit', v_refused,
        'limit_value', case v_refused when 'tokens_per_day' then v_plan.tpd
          when 'cost_usd_per_day' then v_plan.cpd else v_plan.cpm end,
        'used', coalesce(case v_refused when 'tokens_per_day' then u.tokens_used else u.cost_used end, 0),
        'reserved', coalesce(case v_refused when 'tokens_per_day' then u.tokens_reserved else u.cost_reserved end, 0),
        'asked', case v_refused when 'tokens_per_day' then p_tokens else v_cost end,
        'resets_at', case v_refused when 'cost_usd_per_month' then v_month_reset else v_day_reset end)
      from (select 1) one
      left join public.budget_usage u
        on u.user_id = p_user_id
        and u.window_kind = case v_refused when 'cost_usd_per_month' then 'month' else 'day' end
        and u.window_start = case v_refused when 'cost_usd_per_month' then v_month else v_day end
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
      v_plan.cpm - m.cost_used - m.cost_reserved),
    'cost_resets_at', case when v_plan.cpd is null then v_month_reset else v_day_reset end
  );
end
$$;

create or replace function public.settle_budget(
  p_user_id uuid,
  p_day date,
  p_month date,
  p_reserved_tokens bigint,
  p_reserved_cost numeric,
  p_used_tokens bigint,
  p_used_cost numeric
)
returns boolean
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  -- Day first, then month: the order reserve_budget locks them in.
  update public.budget_usage u set
    tokens_reserved = u.tokens_reserved - p_reserved_tokens,
    cost_reserved = u.cost_reserved - p_reserved_cost,
    tokens_used = u.tokens_used + p_used_tokens,
    cost_used = u.cost_used + p_used_cost,
    updated_at = now()
  where u.user_id = p_user_id and u.window_kind = 'day' and u.window_start = p_day;
  update public.budget_usage u set
    tokens_reserved = u.tokens_reserved - p_reserved_tokens,
    cost_reserved = u.cost_reserved - p_reserved_cost,
    tokens_used = u.tokens_used + p_used_tokens,
    cost_used = u.cost_used + p_used_cost,
    updated_at = now()
  where u.user_id = p_user_id and u.window_kind = 'month' and u.window_start = p_month;
  return true;
end
$$;

create or replace view public.my_budget
with (security_invoker = true)
as
with me as (
  select
    (select auth.uid()) as user_id,
    now() at time zone public.user_time_zone((select auth.uid())) as local_now,
    public.user_time_zone((select auth.uid())) as tz
),
windows as (
  select me.user_id, 'day'::text as window_kind, me.local_now::date as window_start,
         (me.local_now::date + 1)::timestamp at time zone me.tz as resets_at
  from me
  union all
  select me.user_id, 'month', date_trunc('month', me.local_now)::date,
         (date_trunc('month', me.local_now) + interval '1 month') at time zone me.tz
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
left join public.budget_usage u
  on u.user_id = w.user_id and u.window_kind = w.window_kind and u.window_start = w.window_start
where p.name is not null
  and not (w.window_kind = 'month' and l.measure = 'tokens');

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
left join public.budget_usage d
  on d.user_id = u.user_id and d.window_kind = 'day'
  and d.window_start = (now() at time zone public.user_time_zone(u.user_id))::date
left join public.budget_usage m
  on m.user_id = u.user_id and m.window_kind = 'month'
  and m.window_start = date_trunc('month', now() at time zone public.user_time_zone(u.user_id))::date;

comment on function public.settle_budget(uuid, date, date, bigint, numeric, bigint, numeric) is
  'Replaces a reservation by what the call used, in its day and month windows (locked day first, as reserve_budget does).';
