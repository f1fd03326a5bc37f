-- =============================================================================
-- Rollback of 20251130000002_add_derived_score_comments.sql
-- Comments already written stay: they are data.
-- =============================================================================

drop trigger describe_derived_score on public.langfuse_scores;
drop function public.describe_derived_score();
