-- =============================================================================
-- Rollback of 20251122000003_add_user_feedback_updates.sql
-- =============================================================================

revoke update (value, comment) on table public.langfuse_scores from authenticated;
drop policy "Users can update their feedback on their traces" on public.langfuse_scores;
drop trigger requeue_changed_score on public.langfuse_scores;
drop function public.requeue_changed_score();
