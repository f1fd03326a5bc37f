-- =============================================================================
-- Rollback of 20251113000001_create_coach_tables.sql
-- Deletes every coach message and encouragement.
-- =============================================================================

drop table public.encouragement_messages;
drop table public.ai_coach_messages;
