-- =============================================================================
-- Rollback of 20251130000004_add_budgets.sql
-- =============================================================================

drop view public.budget_overview;
drop view public.my_budget;
drop function public.settle_budget(uuid, date, date, bigint, numeric, bigint, numeric);
drop function public.reserve_budget(uuid, bigint, numeric, timestamptz);
drop function public.user_plan(uuid);
drop function public.tokens_upper_estimate(text);
drop table public.budget_usage;
alter table public.user_settings drop column plan;
drop table public.plans;
