-- =============================================================================
-- Rollback of 20251204000001_add_langfuse_sync_leases.sql
-- =============================================================================

drop function public.record_stale_langfuse_score_deletes(uuid, jsonb);
drop function public.record_langfuse_score_results(uuid, jsonb, timestamptz);
drop function public.record_langfuse_trace_exports(uuid, jsonb, timestamptz);
drop function public.claim_stale_langfuse_scores(uuid, integer, integer, timestamptz);
drop function public.claim_langfuse_scores(uuid, integer, integer, timestamptz);
drop function public.claim_langfuse_trace_exports(uuid, integer, integer, timestamptz);

alter table public.langfuse_batch_runs
  drop column score_deletes,
  drop column langfuse_configured;

alter table public.langfuse_scores
  drop column content_version,
  drop column langfuse_score_date,
  drop column claimed_until,
  drop column claimed_by;

-- The due index as 20251122000002 made it (dropping export_failed_at drops this one).
alter table public.langfuse_traces
  drop column export_unconfirmed_at,
  drop column export_failed_at,
  drop column export_claimed_until,
  drop column export_claimed_by;

create index idx_langfuse_traces_export_due
  on public.langfuse_traces (export_next_attempt_at nulls first, created_at)
  where exported_at is null;
