-- =============================================================================
-- Derived scores say what they mean: a comment for Langfuse's score view.
--
-- The derive_* functions store the facts in metadata (day, mission, rate,
-- counts, threshold). Langfuse shows a score's comment beside its value, so a
-- derived score gets a one-line comment made from those facts when it is
-- created without one. Scores created before this migration keep theirs
-- (none): changing a comment re-queues a score, and resending every old score
-- for a comment is not worth it.
-- Rollback: supabase/rollbacks/20251130000002_add_derived_score_comments.down.sql
-- =============================================================================

create function public.describe_derived_score()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
declare
  m jsonb := coalesce(new.metadata, '{}'::jsonb);
begin
  if new.comment is not null or new.score_name = 'user_feedback' then
    return new;
  end if;
  new.comment := case new.score_name
    when 'next_day_activity' then
      case when new.value = 1 then 'Active' else 'No activity' end
        || ' on the next day, ' || coalesce(m->>'day', '?')
    when 'mission_completed' then
      'Mission "' || coalesce(m->>'mission', '?') || '" on ' || coalesce(m->>'day', '?')
        || case when new.value = 1 then ': completed' else ': not completed' end
    when 'weekly_completion_rate' then
      format(
        '%s of %s missions completed in the week of %s (%s%%, threshold %s%%)',
        coalesce(m->>'completed', '?'), coalesce(m->>'planned', '?'),
        coalesce(m->>'week_start', '?'),
        round(coalesce((m->>'rate')::numeric, 0) * 100), round(coalesce((m->>'threshold')::numeric, 0) * 100)
      )
  end;
  return new;
end
$$;

comment on function public.describe_derived_score() is
  'Trigger: a derived score created without a comment gets one made from its metadata.';

revoke execute on function public.describe_derived_score() from public, anon, authenticated;

create trigger describe_derived_score
  before insert on public.langfuse_scores
  for each row execute function public.describe_derived_score();
