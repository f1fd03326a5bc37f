-- =============================================================================
-- Rollback of 20251113000002_create_journal_tables.sql
-- Deletes every reflection and daily status.
-- =============================================================================

drop table public.daily_statuses;
drop table public.reflections;
