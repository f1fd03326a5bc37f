-- =============================================================================
-- Score versions: one score in Langfuse however often its content changes.
--
-- Langfuse keeps one score per id, name and calendar date of its timestamp,
-- and merges a score's events in timestamp order (IngestionService
-- processScoreEventList, at Langfuse commit 62751446); two events with the
-- same timestamp merge in no dependable order. So the sync dates every event
-- of a score on the day it was created and a little later for each change:
-- created_at plus content_version milliseconds.
--
--   requeue_changed_score()   bumps langfuse_scores.content_version (added
--                             with the sync's leases, 20251204000001) on
--                             every change of value or comment
-- Rollback: supabase/rollbacks/20251204000003_add_langfuse_score_versions.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- The re-queue trigger of 20251122000003, now counting versions
-- -----------------------------------------------------------------------------
create or replace function public.requeue_changed_score()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if new.value is distinct from old.value or new.comment is distinct from old.comment then
    new.status := 'pending';
    new.sent_at := null;
    new.attempts := 0;
    new.next_attempt_at := null;
    new.last_error := null;
    new.content_version := old.content_version + 1;
    -- updated_at dates the score's content, not its delivery state.
    new.updated_at := now();
  end if;
  return new;
end
$$;
