-- =============================================================================
-- Token and cost budgets per user, exact under concurrency.
--
--   plans                 limits per window: tokens a day, USD a day, USD a
--                         month (null: no limit); what a cost limit does with a
--                         model missing from the price table; the default plan.
--                         Written by the service role only: changing a plan's
--                         limits needs no deploy.
--   user_settings.plan    the user's plan (null: the default plan); users cannot
--                         change it (no grant on the column)
--   budget_usage          per user and local day / local month: used and
--                         reserved tokens and USD. Users read their own rows.
--   reserve_budget()      called in the rate-limit statement: reserves the most
--                         the call can cost, or says which limit refuses it and
--                         when that window resets. Rows are locked day first,
--                         then month, so N parallel reservations never pass a
--                         limit together.
--   my_budget             (view) the user's plan, each window's limit, used,
--                         reserved, remaining and reset time, through RLS
--   budget_overview       (view, service role) spend against budget, per user
--
-- The reservation is replaced by the actual usage in the statement that stores
-- the call's trace (one per call, so it is settled exactly once).
-- Days and months are the user's local ones (user_settings.time_zone).
-- Rollback: supabase/rollbacks/20251130000004_add_budgets.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- plans
-- -----------------------------------------------------------------------------
create table public.plans (
  name text primary key check (name ~ '^[a-z0-9_-]{1,40}$'),
  tokens_per_day bigint check (tokens_per_day >= 0),
  cost_usd_per_day numeric(14, 6) check (cost_usd_per_day >= 0),
  cost_usd_per_month numeric(14, 6) check (cost_usd_per_month >= 0),
  unpriced_models text not null default 'refuse'
    check (unpriced_models in ('refuse', 'tokens_only')),
  is_default boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.plans is
  'Budgets per window (null: no limit). unpriced_models: under a cost limit, a model without a price is refused, or counted in tokens only.';

create unique index idx_plans_one_default on public.plans (is_default) where is_default;

insert into public.plans (name, tokens_per_day, cost_usd_per_day, cost_usd_per_month, unpriced_models, is_default)
values
  ('free', 100000, 0.05, 1.00, 'refuse', true),
  ('plus', 1000000, 0.50, 10.00, 'refuse', false),
  ('unlimited', null, null, null, 'tokens_only', false);

alter table public.plans enable row level security;

create policy "Users can view the plans"
  on public.plans for select
  to authenticated
  using (true);

revoke all on table public.plans from anon, authenticated;
grant select on table public.plans to authenticated;
grant select, insert, update, delete on table public.plans to service_role;

-- -----------------------------------------------------------------------------
-- The user's plan
-- -----------------------------------------------------------------------------
alter table public.user_settings
  add column plan text references public.plans (name) on update cascade on delete set null;

comment on column public.user_settings.plan is
  'The user''s plan; null means the default plan. Set by the service role only.';

create index idx_user_settings_plan on public.user_settings (plan);

-- -----------------------------------------------------------------------------
-- budget_usage
-- -----------------------------------------------------------------------------
create table public.budget_usage (
  user_id uuid not null references auth.users (id) on delete cascade,
  window_kind text not null check (window_kind in ('day', 'month')),
  window_start date not null,
  tokens_used bigint not null default 0 check (tokens_used >= 0),
  tokens_reserved bigint not null default 0 check (tokens_reserved >= 0),
  cost_used numeric(16, 10) not null default 0 check (cost_used >= 0),
  cost_reserved numeric(16, 10) not null default 0 check (cost_reserved >= 0),
  updated_at timestamptz not null default now(),
  primary key (user_id, window_kind, window_start)
);

comment on table public.budget_usage is
  'Tokens and USD per user and local day or month: used (settled calls) and reserved (calls under way).';

alter table public.budget_usage enable row level security;

create policy "Users can view their own budget usage"
  on public.budget_usage for select
  to authenticated
  using ((select auth.uid()) = user_id);

revoke all on table public.budget_usage from anon, authenticated;
grant select on table public.budget_usage to authenticated;
grant select, insert, update, delete on table public.budget_usage to service_role;

-- -----------------------------------------------------------------------------
-- The user's plan and local windows
-- -----------------------------------------------------------------------------
create function public.user_plan(p_user_id uuid)
returns public.plans
language sql
stable
security invoker
set search_path = ''
as $$
  select p.* from public.plans p
  where p.name = coalesce(
    (select s.plan from public.user_settings s where s.user_id = p_user_id),
    (select d.name from public.plans d where d.is_default)
  )
$$;

comment on function public.user_plan(uuid) is 'The user''s plan, or the default plan.';

-- -----------------------------------------------------------------------------
-- Tokens a text may take, counted on the high side (the reservation's estimate;
-- the TypeScript twin is tokensUpperEstimate in _shared/budget/reservation.ts):
-- a token for every three characters, and one more for every two bytes past
-- the first of a multi-byte character (CJK text is about a token a character).
-- -----------------------------------------------------------------------------
create function public.tokens_upper_estimate(p_text text)
returns integer
language sql
immutable
strict
parallel safe
security invoker
set search_path = ''
as $$
  select (ceil(length(p_text) / 3.0) + ceil((octet_length(p_text) - length(p_text)) / 2.0))::integer
$$;

comment on function public.tokens_upper_estimate(text) is
  'A generous estimate of the tokens a text takes: length / 3 plus half the bytes past ASCII.';

-- -----------------------------------------------------------------------------
-- reserve_budget
-- -----------------------------------------------------------------------------
create function public.reserve_budget(
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

comment on function public.reserve_budget(uuid, bigint, numeric, timestamptz) is
  'Reserves p_tokens and p_cost (null: an unpriced model) in the user''s local day and month, or refuses with the limit that would pass and when its window resets.';

-- -----------------------------------------------------------------------------
-- settle_budget: a reservation replaced by what the call used
-- -----------------------------------------------------------------------------
create function public.settle_budget(
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

comment on function public.settle_budget(uuid, date, date, bigint, numeric, bigint, numeric) is
  'Replaces a reservation by what the call used, in its day and month windows (locked day first, as reserve_budget does).';

-- -----------------------------------------------------------------------------
-- What users see: their budget
-- -----------------------------------------------------------------------------
create view public.my_budget
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

comment on view public.my_budget is
  'The signed-in user''s plan and, per window (local day, local month) and measure (tokens, cost_usd): limit (null: none), used, reserved, remaining and reset time.';

revoke all on table public.my_budget from anon, authenticated;
grant select on table public.my_budget to authenticated, service_role;

-- -----------------------------------------------------------------------------
-- What the operator sees: spend against budget, every user
-- -----------------------------------------------------------------------------
create view public.budget_overview
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

comment on view public.budget_overview is
  'Service role: each user''s spend today and this month against their plan; status ok, near (80%) or over.';

revoke all on table public.budget_overview from anon, authenticated;
grant select on table public.budget_overview to service_role;

-- -----------------------------------------------------------------------------
-- Functions: the service role reserves; users may read their own plan
-- -----------------------------------------------------------------------------
revoke execute on function
  public.user_plan(uuid),
  public.tokens_upper_estimate(text),
  public.reserve_budget(uuid, bigint, numeric, timestamptz),
  public.settle_budget(uuid, date, date, bigint, numeric, bigint, numeric)
from public, anon, authenticated;
grant execute on function public.user_plan(uuid) to authenticated, service_role;
grant execute on function public.tokens_upper_estimate(text) to service_role;
grant execute on function public.reserve_budget(uuid, bigint, numeric, timestamptz) to service_role;
grant execute on function public.settle_budget(uuid, date, date, bigint, numeric, bigint, numeric) to service_role;
