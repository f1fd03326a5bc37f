-- =============================================================================
-- Rollback of 20251122000007_add_usage_views.sql
-- =============================================================================

drop view public.model_latency;
drop view public.error_summary;
drop view public.monthly_user_costs;
drop view public.daily_usage;
