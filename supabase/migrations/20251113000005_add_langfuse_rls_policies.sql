-- =============================================================================
-- Langfuse access: RLS, policies and grants (seed 004, migration 3)
--
-- The seed's three policies, written to Supabase's guidance: `to authenticated`
-- and `(select auth.uid())`, so the uid is read once per statement.
--
-- One change to the seed, closing its hole: its insert policy let a user add
-- any score to their own trace, so a user could forge `mission_completed` or
-- mark a score `sent`. Users may insert only `user_feedback`, pending and
-- unsent; every other score is derived by the sync (service role).
--
-- RLS is on for all four tables. langfuse_batch_runs and rate_limit_logs have
-- no user policies and no user grants: only the service role reaches them.
-- Rollback: supabase/rollbacks/20251113000005_add_langfuse_rls_policies.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Row level security
-- -----------------------------------------------------------------------------
alter table public.langfuse_traces enable row level security;
alter table public.langfuse_scores enable row level security;
alter table public.langfuse_batch_runs enable row level security;
alter table public.rate_limit_logs enable row level security;

-- -----------------------------------------------------------------------------
-- langfuse_traces
-- -----------------------------------------------------------------------------
create policy "Users can view their own traces"
  on public.langfuse_traces for select
  to authenticated
  using ((select auth.uid()) = user_id);

-- -----------------------------------------------------------------------------
-- langfuse_scores
-- -----------------------------------------------------------------------------
-- The subquery runs as the user, so the traces policy above applies to it too.
create policy "Users can view scores for their traces"
  on public.langfuse_scores for select
  to authenticated
  using (
    exists (
      select 1
      from public.langfuse_traces
      where langfuse_traces.trace_id = langfuse_scores.trace_id
        and langfuse_traces.user_id = (select auth.uid())
    )
  );

create policy "Users can insert scores for their traces"
  on public.langfuse_scores for insert
  to authenticated
  with check (
    score_name = 'user_feedback'
    and status = 'pending'
    and sent_at is null
    and exists (
      select 1
      from public.langfuse_traces
      where langfuse_traces.trace_id = langfuse_scores.trace_id
        and langfuse_traces.user_id = (select auth.uid())
    )
  );

-- -----------------------------------------------------------------------------
-- Grants. Column grants are allow-lists: id, metadata and created_at are set
-- by the database or by the service role only.
-- -----------------------------------------------------------------------------
grant select on table public.langfuse_traces to authenticated;
grant select on table public.langfuse_scores to authenticated;
grant insert (trace_id, score_name, value, comment, status, sent_at)
  on table public.langfuse_scores to authenticated;

grant select, insert, update, delete on table
  public.langfuse_traces,
  public.langfuse_scores,
  public.langfuse_batch_runs,
  public.rate_limit_logs
to service_role;
