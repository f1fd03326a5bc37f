-- =============================================================================
-- Rollback of 20251122000009_add_retention.sql
-- =============================================================================

drop function public.cleanup_batch_runs(integer, integer, timestamptz);
drop function public.cleanup_rate_limit_logs(interval, integer, timestamptz);
drop function public.cleanup_old_traces(integer, integer, timestamptz);
drop index public.idx_rate_limit_logs_window_start;
