-- =============================================================================
-- Rollback of 20251122000004_add_user_settings.sql
-- Deletes every user's time zone setting.
-- =============================================================================

drop table public.user_settings;
drop function public.is_time_zone(text);
