-- =============================================================================
-- User feedback that can change: the latest value wins.
--
-- A user's feedback on a trace is one user_feedback row (unique per trace and
-- name). Giving feedback again updates its value and comment. Any change of
-- value or comment re-queues the score (pending, unsent, attempts reset), and
-- the sync sends it again under the same id, which Langfuse upserts.
--
-- Users may change only value and comment, only of user_feedback scores on
-- their own traces. Status and delivery columns stay the sync's.
-- Rollback: supabase/rollbacks/20251122000003_add_user_feedback_updates.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Re-queue a score whose value or comment changed
-- -----------------------------------------------------------------------------
create function public.requeue_changed_score()
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
    -- updated_at dates the score's content, not its delivery state: the sync
    -- sends it as the event timestamp, which must stay the same across retries.
    new.updated_at := now();
  end if;
  return new;
end
$$;

comment on function public.requeue_changed_score() is
  'Trigger: a score whose value or comment changes goes back to pending, to be sent again.';

revoke execute on function public.requeue_changed_score() from public, anon, authenticated;

create trigger requeue_changed_score
  before update on public.langfuse_scores
  for each row execute function public.requeue_changed_score();

-- -----------------------------------------------------------------------------
-- Users update their own feedback
-- -----------------------------------------------------------------------------
create policy "Users can update their feedback on their traces"
  on public.langfuse_scores for update
  to authenticated
  using (
    score_name = 'user_feedback'
    and exists (
      select 1
      from public.langfuse_traces
      where langfuse_traces.trace_id = langfuse_scores.trace_id
        and langfuse_traces.user_id = (select auth.uid())
    )
  )
  with check (
    score_name = 'user_feedback'
    and exists (
      select 1
      from public.langfuse_traces
      where langfuse_traces.trace_id = langfuse_scores.trace_id
        and langfuse_traces.user_id = (select auth.uid())
    )
  );

grant update (value, comment) on table public.langfuse_scores to authenticated;
