-- =============================================================================
-- Rollback of 20251130000005_add_reply_store_functions.sql
-- (the functions of before it store replies with their own statement again)
-- =============================================================================

drop function public.store_daily_status(uuid, uuid, date, smallint, text, text, boolean, text, timestamptz, public.coach_trace, public.budget_settlement);
drop function public.store_reflection(uuid, uuid, text, text, timestamptz, public.coach_trace, public.budget_settlement);
drop function public.store_encouragement(uuid, uuid, text, public.coach_trace, public.budget_settlement);
drop function public.store_ai_coach_reply(uuid, uuid, uuid, text, timestamptz, uuid, text, timestamptz, public.coach_trace, public.budget_settlement);
drop function public.record_coach_trace(public.coach_trace, uuid, public.budget_settlement);
drop type public.budget_settlement;
drop type public.coach_trace;
