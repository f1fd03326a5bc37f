-- =============================================================================
-- Rollback of 20251122000001_add_rate_limit_check.sql
-- =============================================================================

drop function public.check_rate_limit(uuid, text, integer, timestamptz);
