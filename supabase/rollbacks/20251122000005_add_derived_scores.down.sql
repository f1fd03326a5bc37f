-- =============================================================================
-- Rollback of 20251122000005_add_derived_scores.sql
-- Scores already derived stay; only the functions go.
-- =============================================================================

drop function public.derive_scores(timestamptz, numeric);
drop function public.derive_weekly_completion_rate(numeric, timestamptz, interval, integer);
drop function public.derive_mission_completed(timestamptz, interval, integer);
drop function public.derive_next_day_activity(timestamptz, interval, integer);
drop function public.unscored_traces(text, timestamptz, interval, integer, text);
drop function public.user_time_zone(uuid);
