-- =============================================================================
-- Scores filed under the wrong trace in Langfuse, and their repair.
--
-- Langfuse keys an OpenTelemetry trace by its trace id as 32 lowercase hex
-- digits; until this release the sync sent each score's traceId as our dashed
-- UUID, so those scores sit in Langfuse on a trace that does not exist.
-- Resending them under the same id cannot move them: a score's trace_id is one
-- of the keys Langfuse never overwrites (immutableEntityKeys in its
-- IngestionService). The repair deletes the misfiled copy in Langfuse and
-- creates the score again under a new Langfuse id:
--
--   langfuse_trace_id(uuid)        the mapping (the TypeScript twin is
--                                  _shared/langfuse/trace-id.ts)
--   langfuse_scores
--     .delivered_trace_id          the traceId the score's Langfuse copy was
--                                  created with; backfilled with the dashed
--                                  UUID where an earlier sync may have sent it
--     .langfuse_score_id           the score's id in Langfuse, when it is not id
--     .stale_langfuse_score_id     a misfiled copy the sync still has to delete
--   requeue_misfiled_langfuse_scores()
--                                  marks every misfiled score for the repair
--                                  (npm run sync -- --resend-sent calls it)
-- Rollback: supabase/rollbacks/20251130000001_add_langfuse_score_trace_repair.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- The Langfuse trace id of a trace row
-- -----------------------------------------------------------------------------
create function public.langfuse_trace_id(p_trace_id uuid)
returns text
language sql
immutable
strict
security invoker
set search_path = ''
as $$
  select replace(p_trace_id::text, '-', '')
$$;

comment on function public.langfuse_trace_id(uuid) is
  'The trace''s id in Langfuse: the UUID''s 32 hex digits, lowercase, no dashes (the OTel trace id).';

revoke execute on function public.langfuse_trace_id(uuid) from public, anon, authenticated;
grant execute on function public.langfuse_trace_id(uuid) to service_role;

-- -----------------------------------------------------------------------------
-- Delivery state of a score's Langfuse copy
-- -----------------------------------------------------------------------------
alter table public.langfuse_scores
  add column delivered_trace_id text,
  add column langfuse_score_id uuid,
  add column stale_langfuse_score_id uuid;

comment on column public.langfuse_scores.delivered_trace_id is
  'The traceId the score''s Langfuse copy was created with (Langfuse never changes it); null until delivered.';
comment on column public.langfuse_scores.langfuse_score_id is
  'The score''s id in Langfuse when it is not id: a score re-created by the trace-id repair.';
comment on column public.langfuse_scores.stale_langfuse_score_id is
  'A copy of the score in Langfuse, filed under the wrong trace, that the sync still has to delete.';

-- Scores an earlier sync may have delivered went with the dashed UUID.
update public.langfuse_scores
set delivered_trace_id = trace_id::text
where status = 'sent' or attempts > 0 or updated_at > created_at;

create index idx_langfuse_scores_stale
  on public.langfuse_scores (next_attempt_at nulls first, created_at)
  where stale_langfuse_score_id is not null;

-- -----------------------------------------------------------------------------
-- The repair
-- -----------------------------------------------------------------------------
create function public.requeue_misfiled_langfuse_scores()
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with misfiled as (
    update public.langfuse_scores s set
      stale_langfuse_score_id = coalesce(s.langfuse_score_id, s.id),
      langfuse_score_id = gen_random_uuid(),
      delivered_trace_id = null,
      status = 'pending',
      sent_at = null,
      attempts = 0,
      next_attempt_at = null,
      last_error = null
    where s.delivered_trace_id is distinct from public.langfuse_trace_id(s.trace_id)
      and (s.delivered_trace_id is not null or s.status = 'sent')
    returning 1
  )
  select count(*)::integer from misfiled
$$;

comment on function public.requeue_misfiled_langfuse_scores() is
  'Queues every score filed in Langfuse under another trace id: the sync deletes that copy and sends the score under a new id. Returns how many.';

revoke execute on function public.requeue_misfiled_langfuse_scores() from public, anon, authenticated;
grant execute on function public.requeue_misfiled_langfuse_scores() to service_role;
