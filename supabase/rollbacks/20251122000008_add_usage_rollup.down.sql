-- =============================================================================
-- Rollback of 20251122000008_add_usage_rollup.sql
-- Deletes the rollup; daily_usage (exact) still answers from the traces left.
-- =============================================================================

drop view public.daily_usage_rollup;
drop function public.roll_up_usage(integer);
alter table public.langfuse_traces drop column rolled_up_at;
drop table public.usage_daily_users;
drop table public.usage_daily;
drop function public.histogram_percentile(integer[], double precision);
drop function public.add_histograms(integer[], integer[]);
drop function public.latency_histogram(integer[]);
drop function public.latency_bucket_bounds();
