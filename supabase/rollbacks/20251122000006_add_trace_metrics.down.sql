-- =============================================================================
-- Rollback of 20251122000006_add_trace_metrics.sql
-- The numbers stay in metadata; dropping the columns drops their indexes.
-- =============================================================================

alter table public.langfuse_traces
  drop column stream_status,
  drop column usage_source,
  drop column cost_usd,
  drop column total_tokens,
  drop column output_tokens,
  drop column input_tokens,
  drop column latency_ms,
  drop column error,
  drop column status,
  drop column model,
  drop column provider;
