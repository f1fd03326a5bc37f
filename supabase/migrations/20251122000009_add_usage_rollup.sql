-- =============================================================================
-- Daily usage rollup, maintained incrementally (as LiteLLM keeps daily spend).
--
-- The exact view daily_usage aggregates every trace each time, which is too
-- slow for an operator's dashboard at a million traces. usage_daily keeps one
-- row per UTC day, entity type and model, and usage_daily_users one per user
-- active in it, both updated by a statement trigger as traces are inserted;
-- the view daily_usage_rollup answers from them in milliseconds. Counts,
-- tokens, costs and unique users are exact; latency percentiles come from a
-- fixed bucket histogram, interpolated within a bucket. Rollups outlive
-- retention: deleting old traces keeps their days' numbers.
--
-- The rollup is for the service role (all users together). A user asking
-- about their own usage uses daily_usage, which RLS keeps to their rows and
-- the (user_id, created_at) index keeps fast.
-- Rollback: supabase/rollbacks/20251122000009_add_usage_rollup.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Latency histograms: bucket upper bounds in ms; the last bucket is open
-- -----------------------------------------------------------------------------
create function public.latency_bucket_bounds()
returns integer[]
language sql
immutable
set search_path = ''
as $$
  select array[25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000,
               7500, 10000, 15000, 20000, 30000, 60000, 2147483647]
$$;

create function public.latency_histogram(p_latencies integer[])
returns integer[]
language sql
immutable
set search_path = ''
as $$
  select array_agg(
    (select count(*)::integer from unnest(p_latencies) l
     where l is not null and l <= b.bound and l > coalesce(b.previous, -1))
    order by b.i)
  from (
    select bound, i, lag(bound) over (order by i) as previous
    from unnest(public.latency_bucket_bounds()) with ordinality as x(bound, i)
  ) b
$$;

create function public.add_histograms(p_left integer[], p_right integer[])
returns integer[]
language sql
immutable
set search_path = ''
as $$
  select array_agg(coalesce(l, 0) + coalesce(r, 0) order by i)
  from unnest(p_left, p_right) with ordinality as x(l, r, i)
$$;

create function public.histogram_percentile(p_histogram integer[], p_fraction double precision)
returns double precision
language plpgsql
immutable
set search_path = ''
as $$
declare
  bounds constant integer[] := public.latency_bucket_bounds();
  total bigint := 0;
  seen bigint := 0;
  target double precision;
  lower integer := 0;
  i integer;
begin
  for i in 1 .. cardinality(p_histogram) loop
    total := total + p_histogram[i];
  end loop;
  if total = 0 then
    return null;
  end if;
  target := p_fraction * total;
  for i in 1 .. cardinality(p_histogram) loop
    if p_histogram[i] > 0 and seen + p_histogram[i] >= target then
      return lower + (bounds[i] - lower) * (target - seen) / p_histogram[i];
    end if;
    seen := seen + p_histogram[i];
    lower := bounds[i];
  end loop;
  return lower;
end
$$;

comment on function public.histogram_percentile(integer[], double precision) is
  'The p_fraction quantile of a latency histogram, interpolated linearly within its bucket.';

-- -----------------------------------------------------------------------------
-- usage_daily
-- -----------------------------------------------------------------------------
create table public.usage_daily (
  day date not null,
  entity_type text not null,
  model text not null,
  requests integer not null default 0,
  successes integer not null default 0,
  errors integer not null default 0,
  latency_count integer not null default 0,
  latency_sum bigint not null default 0,
  latency_histogram integer[] not null,
  input_tokens bigint not null default 0,
  output_tokens bigint not null default 0,
  total_tokens bigint not null default 0,
  cost_usd numeric(20, 10) not null default 0,
  unpriced_requests integer not null default 0,
  unique_users integer not null default 0,
  primary key (day, entity_type, model)
);

comment on table public.usage_daily is
  'Per UTC day, entity type and model (empty when unknown): the sums of its traces. Kept by a trigger on langfuse_traces.';

create table public.usage_daily_users (
  day date not null,
  entity_type text not null,
  model text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  primary key (day, entity_type, model, user_id)
);

comment on table public.usage_daily_users is
  'Who was active per UTC day, entity type and model; a user''s first trace there adds one to usage_daily.unique_users.';

create index idx_usage_daily_users_user_id on public.usage_daily_users (user_id);

-- Service role only: RLS on, no user policy.
alter table public.usage_daily enable row level security;
alter table public.usage_daily_users enable row level security;
revoke all on table public.usage_daily, public.usage_daily_users from anon, authenticated;
grant select, insert, update, delete on table public.usage_daily, public.usage_daily_users to service_role;

-- -----------------------------------------------------------------------------
-- The trigger: one upsert per statement, over its new rows
-- -----------------------------------------------------------------------------
create function public.rollup_new_traces()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  insert into public.usage_daily as u (
    day, entity_type, model, requests, successes, errors, latency_count, latency_sum,
    latency_histogram, input_tokens, output_tokens, total_tokens, cost_usd, unpriced_requests
  )
  select
    (t.created_at at time zone 'UTC')::date, t.entity_type, coalesce(t.model, ''),
    count(*), count(*) filter (where t.status = 'success'), count(*) filter (where t.status = 'error'),
    count(t.latency_ms), coalesce(sum(t.latency_ms), 0),
    public.latency_histogram(array_agg(t.latency_ms)),
    coalesce(sum(t.input_tokens), 0), coalesce(sum(t.output_tokens), 0), coalesce(sum(t.total_tokens), 0),
    coalesce(sum(t.cost_usd), 0), count(*) filter (where t.cost_usd is null)
  from new_traces t
  group by 1, 2, 3
  on conflict (day, entity_type, model) do update set
    requests = u.requests + excluded.requests,
    successes = u.successes + excluded.successes,
    errors = u.errors + excluded.errors,
    latency_count = u.latency_count + excluded.latency_count,
    latency_sum = u.latency_sum + excluded.latency_sum,
    latency_histogram = public.add_histograms(u.latency_histogram, excluded.latency_histogram),
    input_tokens = u.input_tokens + excluded.input_tokens,
    output_tokens = u.output_tokens + excluded.output_tokens,
    total_tokens = u.total_tokens + excluded.total_tokens,
    cost_usd = u.cost_usd + excluded.cost_usd,
    unpriced_requests = u.unpriced_requests + excluded.unpriced_requests;

  with first_seen as (
    insert into public.usage_daily_users (day, entity_type, model, user_id)
    select distinct (t.created_at at time zone 'UTC')::date, t.entity_type, coalesce(t.model, ''), t.user_id
    from new_traces t
    on conflict do nothing
    returning day, entity_type, model
  )
  update public.usage_daily u set unique_users = u.unique_users + n.users
  from (select day, entity_type, model, count(*)::integer as users from first_seen group by 1, 2, 3) n
  where u.day = n.day and u.entity_type = n.entity_type and u.model = n.model;
  return null;
end
$$;

create trigger rollup_new_traces
  after insert on public.langfuse_traces
  referencing new table as new_traces
  for each statement execute function public.rollup_new_traces();

-- Traces already there.
insert into public.usage_daily (
  day, entity_type, model, requests, successes, errors, latency_count, latency_sum,
  latency_histogram, input_tokens, output_tokens, total_tokens, cost_usd, unpriced_requests
)
select
  (t.created_at at time zone 'UTC')::date, t.entity_type, coalesce(t.model, ''),
  count(*), count(*) filter (where t.status = 'success'), count(*) filter (where t.status = 'error'),
  count(t.latency_ms), coalesce(sum(t.latency_ms), 0),
  public.latency_histogram(array_agg(t.latency_ms)),
  coalesce(sum(t.input_tokens), 0), coalesce(sum(t.output_tokens), 0), coalesce(sum(t.total_tokens), 0),
  coalesce(sum(t.cost_usd), 0), count(*) filter (where t.cost_usd is null)
from public.langfuse_traces t
group by 1, 2, 3;

insert into public.usage_daily_users (day, entity_type, model, user_id)
select distinct (t.created_at at time zone 'UTC')::date, t.entity_type, coalesce(t.model, ''), t.user_id
from public.langfuse_traces t;

update public.usage_daily u set unique_users = n.users
from (
  select day, entity_type, model, count(*)::integer as users from public.usage_daily_users group by 1, 2, 3
) n
where u.day = n.day and u.entity_type = n.entity_type and u.model = n.model;

-- -----------------------------------------------------------------------------
-- daily_usage_rollup: daily_usage's columns, from the rollup
-- -----------------------------------------------------------------------------
create view public.daily_usage_rollup
with (security_invoker = true)
as
select
  u.day,
  u.entity_type,
  nullif(u.model, '') as model,
  u.requests,
  u.successes,
  u.errors,
  round(u.latency_sum::numeric / nullif(u.latency_count, 0), 1) as avg_latency_ms,
  public.histogram_percentile(u.latency_histogram, 0.5) as p50_latency_ms,
  public.histogram_percentile(u.latency_histogram, 0.95) as p95_latency_ms,
  public.histogram_percentile(u.latency_histogram, 0.99) as p99_latency_ms,
  u.input_tokens,
  u.output_tokens,
  u.total_tokens,
  u.cost_usd,
  u.unpriced_requests,
  u.unique_users
from public.usage_daily u;

comment on view public.daily_usage_rollup is
  'daily_usage from the incremental rollup: exact counts, tokens and costs; percentiles from latency histograms.';

revoke all on public.daily_usage_rollup from anon, authenticated;
grant select on public.daily_usage_rollup to service_role;

revoke execute on function
  public.latency_bucket_bounds(),
  public.latency_histogram(integer[]),
  public.add_histograms(integer[], integer[]),
  public.histogram_percentile(integer[], double precision),
  public.rollup_new_traces()
from public, anon;
grant execute on function
  public.latency_bucket_bounds(),
  public.latency_histogram(integer[]),
  public.add_histograms(integer[], integer[]),
  public.histogram_percentile(integer[], double precision)
to authenticated, service_role;
