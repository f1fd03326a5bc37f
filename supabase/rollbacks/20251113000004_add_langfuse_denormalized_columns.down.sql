-- =============================================================================
-- Rollback of 20251113000004_add_langfuse_denormalized_columns.sql
-- Seed 004's rollback plan for migration 2. Dropping a column drops its index
-- and its foreign key with it.
-- =============================================================================

alter table public.reflections drop column langfuse_trace_id;
alter table public.encouragement_messages drop column langfuse_trace_id;
alter table public.ai_coach_messages drop column langfuse_trace_id;
