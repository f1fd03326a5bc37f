-- =============================================================================
-- Langfuse sync state: what has reached Langfuse, and what is due to be sent.
--
--   langfuse_traces  exported_at (null until the OTLP export succeeded),
--                    attempts, the next attempt and the last error
--   langfuse_scores  attempts, the next attempt and the last error; status and
--                    sent_at stay the seed's columns
--
-- A score is unique per trace and name: derived scores are created once per
-- trace, and a user's feedback on a trace is one row whose value can change.
-- The sync claims rows with FOR UPDATE SKIP LOCKED; the partial indexes below
-- serve exactly its "due" queries.
-- Rollback: supabase/rollbacks/20251122000002_add_langfuse_sync_state.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- langfuse_traces
-- -----------------------------------------------------------------------------
alter table public.langfuse_traces
  add column exported_at timestamptz,
  add column export_attempts integer not null default 0,
  add column export_next_attempt_at timestamptz,
  add column export_error text;

comment on column public.langfuse_traces.exported_at is
  'When the trace reached Langfuse through its OpenTelemetry endpoint; null while it has not.';
comment on column public.langfuse_traces.export_next_attempt_at is
  'After a failed export, the earliest time of the next attempt (backoff, Retry-After).';

create index idx_langfuse_traces_export_due
  on public.langfuse_traces (export_next_attempt_at nulls first, created_at)
  where exported_at is null;

-- -----------------------------------------------------------------------------
-- langfuse_scores
-- -----------------------------------------------------------------------------
alter table public.langfuse_scores
  add column attempts integer not null default 0,
  add column next_attempt_at timestamptz,
  add column last_error text,
  add column updated_at timestamptz not null default now();

comment on column public.langfuse_scores.attempts is
  'Delivery attempts so far; at the sync''s maximum a score becomes failed.';
comment on column public.langfuse_scores.next_attempt_at is
  'After a retryable failure (5xx, 429, timeout), the earliest time of the next attempt.';

create index idx_langfuse_scores_due
  on public.langfuse_scores (next_attempt_at nulls first, created_at)
  where status = 'pending';

create unique index idx_langfuse_scores_one_per_trace_and_name
  on public.langfuse_scores (trace_id, score_name);
