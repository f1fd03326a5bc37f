-- =============================================================================
-- Rollback of 20251113000003_add_langfuse_core.sql
-- Seed 004's rollback plan for migration 1: drop in reverse dependency order.
-- Deletes every trace, score, batch run and rate-limit window.
-- =============================================================================

drop table public.rate_limit_logs;
drop table public.langfuse_batch_runs;
drop table public.langfuse_scores;
drop table public.langfuse_traces;
