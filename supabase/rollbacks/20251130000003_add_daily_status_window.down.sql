-- =============================================================================
-- Rollback of 20251130000003_add_daily_status_window.sql: the policies of
-- 20251113000002 again, and user_time_zone for the service role only.
-- =============================================================================

drop policy "Users can write their own recent daily statuses" on public.daily_statuses;
drop policy "Users can edit their own recent daily statuses" on public.daily_statuses;

create policy "Users can write their own daily statuses"
  on public.daily_statuses for insert
  to authenticated
  with check ((select auth.uid()) = user_id);

create policy "Users can edit their own daily statuses"
  on public.daily_statuses for update
  to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

revoke execute on function public.user_time_zone(uuid) from authenticated;

drop function public.daily_status_date_allowed(uuid, date, timestamptz);
drop function public.user_local_date(uuid, timestamptz);
