-- =============================================================================
-- Rollback of 20251113000005_add_langfuse_rls_policies.sql
-- Seed 004's rollback plan for migration 3, plus the grants and the RLS switch
-- on the two service-only tables that the migration added.
-- =============================================================================

drop policy "Users can insert scores for their traces" on public.langfuse_scores;
drop policy "Users can view scores for their traces" on public.langfuse_scores;
drop policy "Users can view their own traces" on public.langfuse_traces;

revoke all on table
  public.langfuse_traces,
  public.langfuse_scores,
  public.langfuse_batch_runs,
  public.rate_limit_logs
from authenticated, service_role;

alter table public.rate_limit_logs disable row level security;
alter table public.langfuse_batch_runs disable row level security;
alter table public.langfuse_scores disable row level security;
alter table public.langfuse_traces disable row level security;
