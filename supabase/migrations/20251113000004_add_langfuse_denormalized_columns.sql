-- =============================================================================
-- Denormalised trace links (seed 004, migration 2)
--
-- Each coach-written row points at the trace of the LLM call that produced it,
-- so the app can send feedback for a message without a lookup. Deleting a
-- trace keeps the row and clears the link (on delete set null).
-- The columns are not in any user grant: only Edge Functions set them.
-- Rollback: supabase/rollbacks/20251113000004_add_langfuse_denormalized_columns.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- ai_coach_messages
-- -----------------------------------------------------------------------------
alter table public.ai_coach_messages
  add column langfuse_trace_id uuid
  references public.langfuse_traces (trace_id) on delete set null;

comment on column public.ai_coach_messages.langfuse_trace_id is
  'The trace of the LLM call that wrote this reply; null for user turns.';

create index idx_ai_coach_messages_langfuse_trace_id
  on public.ai_coach_messages (langfuse_trace_id);

-- -----------------------------------------------------------------------------
-- encouragement_messages
-- -----------------------------------------------------------------------------
alter table public.encouragement_messages
  add column langfuse_trace_id uuid
  references public.langfuse_traces (trace_id) on delete set null;

comment on column public.encouragement_messages.langfuse_trace_id is
  'The trace of the LLM call that wrote this encouragement.';

create index idx_encouragement_messages_langfuse_trace_id
  on public.encouragement_messages (langfuse_trace_id);

-- -----------------------------------------------------------------------------
-- reflections
-- -----------------------------------------------------------------------------
alter table public.reflections
  add column langfuse_trace_id uuid
  references public.langfuse_traces (trace_id) on delete set null;

comment on column public.reflections.langfuse_trace_id is
  'The trace of the LLM call that wrote coach_reply.';

create index idx_reflections_langfuse_trace_id
  on public.reflections (langfuse_trace_id);
