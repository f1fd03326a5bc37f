-- =============================================================================
-- Rollback of 20251130000001_add_langfuse_score_trace_repair.sql
-- Dropping the columns drops their partial index with them.
-- =============================================================================

drop function public.requeue_misfiled_langfuse_scores();

alter table public.langfuse_scores
  drop column stale_langfuse_score_id,
  drop column langfuse_score_id,
  drop column delivered_trace_id;

drop function public.langfuse_trace_id(uuid);
