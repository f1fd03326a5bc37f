-- =============================================================================
-- Rollback of 20251122000002_add_langfuse_sync_state.sql
-- Dropping the columns drops their partial indexes with them.
-- =============================================================================

drop index public.idx_langfuse_scores_one_per_trace_and_name;

alter table public.langfuse_scores
  drop column updated_at,
  drop column last_error,
  drop column next_attempt_at,
  drop column attempts;

alter table public.langfuse_traces
  drop column export_error,
  drop column export_next_attempt_at,
  drop column export_attempts,
  drop column exported_at;
