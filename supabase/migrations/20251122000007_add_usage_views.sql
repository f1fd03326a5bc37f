-- =============================================================================
-- Usage analytics as views (seeds 000 to 003): latency per model, tokens and
-- cost per user per month, daily usage with percentiles, error summaries.
--
-- Every view is security_invoker, so the caller's RLS applies: a user sees
-- the numbers of their own calls, the service role sees everyone's. Days and
-- months are UTC. Cost sums skip calls without a price (cost_usd null), and
-- say how many those were.
-- Rollback: supabase/rollbacks/20251122000007_add_usage_views.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- daily_usage: per UTC day, entity type and model
-- -----------------------------------------------------------------------------
create view public.daily_usage
with (security_invoker = true)
as
select
  (t.created_at at time zone 'UTC')::date as day,
  t.entity_type,
  t.model,
  count(*)::integer as requests,
  count(*) filter (where t.status = 'success')::integer as successes,
  count(*) filter (where t.status = 'error')::integer as errors,
  round(avg(t.latency_ms), 1) as avg_latency_ms,
  percentile_cont(0.5) within group (order by t.latency_ms) as p50_latency_ms,
  percentile_cont(0.95) within group (order by t.latency_ms) as p95_latency_ms,
  percentile_cont(0.99) within group (order by t.latency_ms) as p99_latency_ms,
  coalesce(sum(t.input_tokens), 0)::bigint as input_tokens,
  coalesce(sum(t.output_tokens), 0)::bigint as output_tokens,
  coalesce(sum(t.total_tokens), 0)::bigint as total_tokens,
  coalesce(sum(t.cost_usd), 0) as cost_usd,
  count(*) filter (where t.cost_usd is null)::integer as unpriced_requests,
  count(distinct t.user_id)::integer as unique_users
from public.langfuse_traces t
group by 1, 2, 3;

comment on view public.daily_usage is
  'Per UTC day, entity type and model: requests, successes, errors, latency (avg, p50, p95, p99), tokens, cost and unique users.';

-- -----------------------------------------------------------------------------
-- monthly_user_costs: per user and UTC month
-- -----------------------------------------------------------------------------
create view public.monthly_user_costs
with (security_invoker = true)
as
select
  t.user_id,
  date_trunc('month', t.created_at at time zone 'UTC')::date as month,
  count(*)::integer as requests,
  coalesce(sum(t.input_tokens), 0)::bigint as input_tokens,
  coalesce(sum(t.output_tokens), 0)::bigint as output_tokens,
  coalesce(sum(t.total_tokens), 0)::bigint as total_tokens,
  coalesce(sum(t.cost_usd), 0) as cost_usd,
  count(*) filter (where t.cost_usd is null)::integer as unpriced_requests
from public.langfuse_traces t
group by 1, 2;

comment on view public.monthly_user_costs is
  'Tokens and cost per user per UTC month (seed 002''s cost query, seed 001''s workspace_costs).';

-- -----------------------------------------------------------------------------
-- error_summary: per model and error class
-- -----------------------------------------------------------------------------
create view public.error_summary
with (security_invoker = true)
as
select
  t.model,
  split_part(t.error, ':', 1) as error_class,
  count(*)::integer as occurrences,
  min(t.created_at) as first_seen,
  max(t.created_at) as last_seen,
  (array_agg(t.error order by t.created_at desc))[1] as last_error
from public.langfuse_traces t
where t.status = 'error'
group by 1, 2;

comment on view public.error_summary is
  'Failed calls per model and error class (timeout, upstream, aborted, internal): count, first and last seen, the latest message.';

-- -----------------------------------------------------------------------------
-- model_latency: per provider and model
-- -----------------------------------------------------------------------------
create view public.model_latency
with (security_invoker = true)
as
select
  t.provider,
  t.model,
  count(*)::integer as requests,
  round(avg(t.latency_ms), 1) as avg_latency_ms,
  percentile_cont(0.5) within group (order by t.latency_ms) as p50_latency_ms,
  percentile_cont(0.95) within group (order by t.latency_ms) as p95_latency_ms
from public.langfuse_traces t
where t.latency_ms is not null
group by 1, 2;

comment on view public.model_latency is 'Latency per provider and model (seed 000''s average processing time per model).';

-- -----------------------------------------------------------------------------
-- Grants: users read their own numbers through RLS; nobody writes views
-- -----------------------------------------------------------------------------
revoke all on public.daily_usage, public.monthly_user_costs, public.error_summary, public.model_latency
  from anon, authenticated;
grant select on public.daily_usage, public.monthly_user_costs, public.error_summary, public.model_latency
  to authenticated, service_role;
