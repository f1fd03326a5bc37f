-- =============================================================================
-- Rollback of 20251204000003_add_langfuse_score_versions.sql: the trigger
-- function of 20251122000003.
-- =============================================================================

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
    -- updated_at dates the score's content, not its delivery state: the sync
    -- sends it as the event timestamp, which must stay the same across retries.
    new.updated_at := now();
  end if;
  return new;
end
$$;
