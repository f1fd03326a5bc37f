-- =============================================================================
-- Daily usage rollup, maintained incrementally (as LiteLLM keeps daily spend).
--
-- The exact view daily_usage aggregates every trace each time, which is too
-- slow for an operator's dashboard at a million traces. usage_daily keeps one
-- row per UTC day, entity type and model, and usage_daily_users one per user
-- active in it. roll_up_usage() folds in the traces not rolled up yet, a
-- batch at a time; the sync calls it every run, so the rollup trails by a
-- minute and trace inserts (on every LLM call) pay nothing for it. The view
-- daily_usage_rollup answers from the rollup in milliseconds. Counts,
-- tokens, costs and unique users are exact; latency percentiles come from a
-- fixed bucket histogram, interpolated within a bucket. Rollups outlive
-- retention: deleting old traces keeps their days' numbers.
--
-- The rollup is for the service role (all users together). A user asking
-- about their own usage uses daily_usage, which RLS keeps to their rows and
-- the (user_id, created_at) index keeps fast.
-- Rollback: supabase/rollbacks/20251122000008_add_usage_rollup.down.sql
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
  'Per UTC day, entity type and model (empty when unknown): the sums of its traces, kept by roll_up_usage().';

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
-- Folding traces into the rollup
-- -----------------------------------------------------------------------------
alter table public.langfuse_traces add column rolled_up_at timestamptz;

comment on column public.langfuse_traces.rolled_up_at is
  'When roll_up_usage() counted this trace into usage_daily; null until then.';

create index idx_langfuse_traces_not_rolled_up on public.langfuse_traces (created_at)
  where rolled_up_at is null;

create function public.roll_up_usage(p_batch_size integer default 10000)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with batch as (
    select t.id
    from public.langfuse_traces t
    where t.rolled_up_at is null
    order by t.created_at
    limit p_batch_size
    for update skip locked
  ),
  marked as (
    update public.langfuse_traces t set rolled_up_at = now()
    from batch
    where t.id = batch.id
    returning (t.created_at at time zone 'UTC')::date as day, t.entity_type, coalesce(t.model, '') as model,
      t.user_id, t.status, t.latency_ms, t.input_tokens, t.output_tokens, t.total_tokens, t.cost_usd
  ),
  first_seen as (
    insert into public.usage_daily_users (day, entity_type, model, user_id)
    select distinct day, entity_type, model, user_id from marked
    on conflict do nothing
    returning day, entity_type, model
  ),
  new_users as (
    select day, entity_type, model, count(*)::integer as users from first_seen group by 1, 2, 3
  ),
  sums as (
    select m.day, m.entity_type, m.model,
      count(*)::integer as requests,
      count(*) filter (where m.status = 'success')::integer as successes,
      count(*) filter (where m.status = 'error')::integer as errors,
      count(m.latency_ms)::integer as latency_count,
      coalesce(sum(m.latency_ms), 0)::bigint as latency_sum,
      public.latency_histogram(array_agg(m.latency_ms)) as latency_histogram,
      coalesce(sum(m.input_tokens), 0)::bigint as input_tokens,
      coalesce(sum(m.output_tokens), 0)::bigint as output_tokens,
      coalesce(sum(m.total_tokens), 0)::bigint as total_tokens,
      coalesce(sum(m.cost_usd), 0) as cost_usd,
      count(*) filter (where m.cost_usd is null)::integer as unpriced_requests
    from marked m
    group by 1, 2, 3
  ),
  upserted as (
    insert into public.usage_daily as u (
      day, entity_type, model, requests, successes, errors, latency_count, latency_sum, latency_histogram,
      input_tokens, output_tokens, total_tokens, cost_usd, unpriced_requests, unique_users
    )
    select s.day, s.entity_type, s.model, s.requests, s.successes, s.errors, s.latency_count, s.latency_sum,
      s.latency_histogram, s.input_tokens, s.output_tokens, s.total_tokens, s.cost_usd, s.unpriced_requests,
      coalesce(n.users, 0)
    from sums s
    left join new_users n on n.day = s.day and n.entity_type = s.entity_type and n.model = s.model
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
      unpriced_requests = u.unpriced_requests + excluded.unpriced_requests,
      unique_users = u.unique_users + excluded.unique_users
    returning 1
  )
  select count(*)::integer from marked
$$;

comment on function public.roll_up_usage(integer) is
  'Counts up to p_batch_size traces not rolled up yet into usage_daily (skipping locked ones); returns how many.';

-- Traces already there.
select public.roll_up_usage(2147483647);

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
  public.histogram_percentile(integer[], double precision)
from public, anon;
revoke execute on function public.roll_up_usage(integer) from public, anon, authenticated;
grant execute on function public.roll_up_usage(integer) to service_role;
grant execute on function
  public.latency_bucket_bounds(),
  public.latency_histogram(integer[]),
  public.add_histograms(integer[], integer[]),
  public.histogram_percentile(integer[], double precision)
to authenticated, service_role;
