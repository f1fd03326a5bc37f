-- =============================================================================
-- Langfuse sync leases: claim, commit, send, record.
--
-- No transaction or row lock is held while the sync waits on Langfuse. A run
-- claims a batch in one short statement (FOR UPDATE SKIP LOCKED, then a lease:
-- claimed_by = the run, claimed_until = when the claim lapses), commits, sends,
-- and records each result in another short statement. A run that dies leaves
-- its lease, which lapses, and the rows are claimable again. Two live runs
-- never hold the same row: a lease outlasts the longest a batch can take.
--
--   langfuse_traces   export_claimed_by, export_claimed_until;
--                     export_failed_at (Langfuse refused the trace: final);
--                     export_unconfirmed_at (an export whose answer was lost:
--                     checked in Langfuse before anything is sent again)
--   langfuse_scores   claimed_by, claimed_until (sending or deleting a copy);
--                     langfuse_score_date (the UTC date Langfuse files the
--                     score's copy under: with its id and name, its identity);
--                     content_version (changes of value or comment)
--   langfuse_batch_runs
--                     langfuse_configured (did the run have Langfuse keys);
--                     score_deletes (copies deleted, against the daily limit)
--
--   claim_langfuse_trace_exports(run, limit, lease_seconds, now)
--   claim_langfuse_scores(run, limit, lease_seconds, now)
--   claim_stale_langfuse_scores(run, limit, lease_seconds, now)
--   record_langfuse_trace_exports(run, results, now)
--   record_langfuse_score_results(run, results, now)
--   record_stale_langfuse_score_deletes(run, results)
--
-- Recording is idempotent (a record retried after a frozen statement committed
-- after all changes nothing more), and a result that Langfuse accepted is
-- recorded even when the lease has lapsed: it is the truth about the row.
-- Rollback: supabase/rollbacks/20251204000001_add_langfuse_sync_leases.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Columns and the due indexes
-- -----------------------------------------------------------------------------
alter table public.langfuse_traces
  add column export_claimed_by uuid,
  add column export_claimed_until timestamptz,
  add column export_failed_at timestamptz,
  add column export_unconfirmed_at timestamptz;

comment on column public.langfuse_traces.export_claimed_by is
  'The sync run sending the trace now; with export_claimed_until, a lease that lapses if the run dies.';
comment on column public.langfuse_traces.export_failed_at is
  'When Langfuse refused the trace (a 4xx about its data, or rejected spans): it is not sent again.';
comment on column public.langfuse_traces.export_unconfirmed_at is
  'When an export of the trace went unanswered (timeout, dropped connection): Langfuse may hold it, and v4 keeps every copy, so the next attempt looks it up first and sends only what is missing.';

drop index public.idx_langfuse_traces_export_due;
create index idx_langfuse_traces_export_due
  on public.langfuse_traces (export_next_attempt_at nulls first, created_at)
  where exported_at is null and export_failed_at is null;

alter table public.langfuse_scores
  add column claimed_by uuid,
  add column claimed_until timestamptz,
  add column langfuse_score_date date,
  add column content_version integer not null default 0;

comment on column public.langfuse_scores.claimed_by is
  'The sync run sending the score (or deleting its misfiled copy) now; with claimed_until, a lease.';
comment on column public.langfuse_scores.content_version is
  'How often value or comment changed (20251204000003 counts); the sync dates a score''s event created_at plus this many milliseconds.';
comment on column public.langfuse_scores.langfuse_score_date is
  'The UTC date of the timestamp Langfuse holds for the score''s copy. Langfuse overwrites a score only when id, name and this date match.';

-- Copies delivered before this migration were dated by updated_at.
update public.langfuse_scores
set langfuse_score_date = (updated_at at time zone 'UTC')::date
where delivered_trace_id is not null;

alter table public.langfuse_batch_runs
  add column langfuse_configured boolean,
  add column score_deletes integer not null default 0;

comment on column public.langfuse_batch_runs.langfuse_configured is
  'Whether the run had Langfuse keys; without them it derives scores and rolls up usage, and sends nothing.';
comment on column public.langfuse_batch_runs.score_deletes is
  'Score copies the run deleted in Langfuse; summed over a day against Langfuse''s daily delete limit.';

-- -----------------------------------------------------------------------------
-- Claims
-- -----------------------------------------------------------------------------
create function public.claim_langfuse_trace_exports(
  p_run_id uuid,
  p_limit integer,
  p_lease_seconds integer,
  p_now timestamptz default now()
)
returns table (
  trace_id uuid,
  entity_type text,
  entity_id uuid,
  user_id uuid,
  input text,
  output text,
  metadata jsonb,
  tags text[],
  created_at timestamptz,
  export_attempts integer,
  export_unconfirmed_at timestamptz,
  session_id text
)
language sql
volatile
security invoker
set search_path = ''
as $$
  with due as (
    select t.id
    from public.langfuse_traces t
    where t.exported_at is null and t.export_failed_at is null
      and (t.export_next_attempt_at is null or t.export_next_attempt_at <= p_now)
      and (t.export_claimed_until is null or t.export_claimed_until <= p_now)
    order by t.export_next_attempt_at nulls first, t.created_at
    limit p_limit
    for update skip locked
  ),
  claimed as (
    update public.langfuse_traces t set
      export_claimed_by = p_run_id,
      export_claimed_until = p_now + make_interval(secs => p_lease_seconds)
    from due
    where t.id = due.id
    returning t.*
  )
  -- Rows written before traces carried their session get it from the stored turn.
  select c.trace_id, c.entity_type, c.entity_id, c.user_id, c.input, c.output, c.metadata,
    c.tags, c.created_at, c.export_attempts, c.export_unconfirmed_at,
    coalesce(c.metadata->>'session_id', m.conversation_id::text)
  from claimed c
  left join public.ai_coach_messages m
    on c.entity_type = 'ai_coach_message' and m.id = c.entity_id
  order by c.export_next_attempt_at nulls first, c.created_at
$$;

comment on function public.claim_langfuse_trace_exports(uuid, integer, integer, timestamptz) is
  'Claims up to p_limit traces due for export for run p_run_id, for p_lease_seconds. Returns what the export needs.';

create function public.claim_langfuse_scores(
  p_run_id uuid,
  p_limit integer,
  p_lease_seconds integer,
  p_now timestamptz default now()
)
returns table (
  id uuid,
  langfuse_score_id uuid,
  trace_id uuid,
  environment text,
  score_name text,
  value text,
  comment text,
  metadata jsonb,
  attempts integer,
  created_at timestamptz,
  updated_at timestamptz,
  content_version integer,
  langfuse_score_date date
)
language sql
volatile
security invoker
set search_path = ''
as $$
  with due as (
    select s.id
    from public.langfuse_scores s
    -- A score whose misfiled copy is not deleted yet waits (claim_stale_langfuse_scores).
    where s.status = 'pending' and s.stale_langfuse_score_id is null
      and (s.next_attempt_at is null or s.next_attempt_at <= p_now)
      and (s.claimed_until is null or s.claimed_until <= p_now)
    order by s.next_attempt_at nulls first, s.created_at
    limit p_limit
    for update skip locked
  ),
  claimed as (
    update public.langfuse_scores s set
      claimed_by = p_run_id,
      claimed_until = p_now + make_interval(secs => p_lease_seconds)
    from due
    where s.id = due.id
    returning s.*
  )
  select c.id, c.langfuse_score_id, c.trace_id, t.metadata->>'environment', c.score_name,
    c.value::text, c.comment, c.metadata, c.attempts, c.created_at, c.updated_at,
    c.content_version, c.langfuse_score_date
  from claimed c
  join public.langfuse_traces t on t.trace_id = c.trace_id
  order by c.next_attempt_at nulls first, c.created_at
$$;

comment on function public.claim_langfuse_scores(uuid, integer, integer, timestamptz) is
  'Claims up to p_limit scores due to be sent for run p_run_id, for p_lease_seconds. updated_at is the content version sent.';

create function public.claim_stale_langfuse_scores(
  p_run_id uuid,
  p_limit integer,
  p_lease_seconds integer,
  p_now timestamptz default now()
)
returns table (id uuid, stale uuid, attempts integer)
language sql
volatile
security invoker
set search_path = ''
as $$
  with due as (
    select s.id
    from public.langfuse_scores s
    where s.stale_langfuse_score_id is not null
      and (s.next_attempt_at is null or s.next_attempt_at <= p_now)
      and (s.claimed_until is null or s.claimed_until <= p_now)
    order by s.next_attempt_at nulls first, s.created_at
    limit p_limit
    for update skip locked
  ),
  claimed as (
    update public.langfuse_scores s set
      claimed_by = p_run_id,
      claimed_until = p_now + make_interval(secs => p_lease_seconds)
    from due
    where s.id = due.id
    returning s.*
  )
  select c.id, c.stale_langfuse_score_id, c.attempts
  from claimed c
  order by c.next_attempt_at nulls first, c.created_at
$$;

comment on function public.claim_stale_langfuse_scores(uuid, integer, integer, timestamptz) is
  'Claims up to p_limit scores whose misfiled Langfuse copy is due to be deleted, for run p_run_id.';

-- -----------------------------------------------------------------------------
-- Records
-- -----------------------------------------------------------------------------
-- p_results: [{trace_id, attempted, exported, failed, unconfirmed, error, next}];
-- attempted false releases the claim of a row the run did not get to send;
-- unconfirmed marks an export whose answer was lost (it stays so until the
-- trace is known to be in Langfuse, or refused).
create function public.record_langfuse_trace_exports(
  p_run_id uuid,
  p_results jsonb,
  p_now timestamptz default now()
)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with recorded as (
    update public.langfuse_traces t set
      exported_at = case when r.exported then p_now else t.exported_at end,
      export_failed_at = case when r.failed then p_now else t.export_failed_at end,
      export_unconfirmed_at = case
        when r.exported or r.failed then null
        when r.unconfirmed then coalesce(t.export_unconfirmed_at, p_now)
        else t.export_unconfirmed_at end,
      export_attempts = t.export_attempts + case when r.attempted then 1 else 0 end,
      export_next_attempt_at = case when r.attempted then r.next else t.export_next_attempt_at end,
      export_error = case when r.attempted then r.error else t.export_error end,
      export_claimed_by = null,
      export_claimed_until = null
    from jsonb_to_recordset(p_results)
      as r(trace_id uuid, attempted boolean, exported boolean, failed boolean,
        unconfirmed boolean, error text, next timestamptz)
    where t.trace_id = r.trace_id
      and t.exported_at is null
      and (r.exported or t.export_claimed_by = p_run_id)
    returning 1
  )
  select count(*)::integer from recorded
$$;

comment on function public.record_langfuse_trace_exports(uuid, jsonb, timestamptz) is
  'Records run p_run_id''s export results and ends its claims; idempotent. Returns the rows changed.';

-- p_results: [{id, version, attempted, status, attempts, next, error,
-- trace_ref, score_date}]; status is sent, pending, failed, or requeue: the
-- next delivery would carry another date than the copy Langfuse holds, which
-- would make a second score, so the copy is to be deleted and the score sent
-- under a new Langfuse id (the repair's path). A score whose content changed
-- while it was sent (updated_at is not the version sent) stays pending for
-- its new content; its copy in Langfuse is still recorded.
create function public.record_langfuse_score_results(
  p_run_id uuid,
  p_results jsonb,
  p_now timestamptz default now()
)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with recorded as (
    -- "current": the row still holds the content that was sent. Read from the
    -- row being updated, so a feedback change committed meanwhile is seen.
    update public.langfuse_scores s set
      status = case
        when not (s.updated_at = r.version and r.attempted) then s.status
        when r.status = 'requeue' then 'pending'
        else r.status end,
      sent_at = case when s.updated_at = r.version and r.attempted and r.status = 'sent'
        then p_now else s.sent_at end,
      attempts = case when s.updated_at = r.version and r.attempted then r.attempts else s.attempts end,
      next_attempt_at = case when s.updated_at = r.version and r.attempted then r.next
        else s.next_attempt_at end,
      last_error = case when s.updated_at = r.version and r.attempted then r.error else s.last_error end,
      stale_langfuse_score_id = case when r.status = 'requeue'
        then coalesce(s.langfuse_score_id, s.id) else s.stale_langfuse_score_id end,
      langfuse_score_id = case when r.status = 'requeue'
        then gen_random_uuid() else s.langfuse_score_id end,
      -- Langfuse keeps the trace id and the date a score's copy was created with.
      delivered_trace_id = case when r.status = 'requeue' then null
        else coalesce(s.delivered_trace_id, r.trace_ref) end,
      langfuse_score_date = case when r.status = 'requeue' then null
        when r.status = 'sent' then r.score_date else s.langfuse_score_date end,
      claimed_by = null,
      claimed_until = null
    from jsonb_to_recordset(p_results)
      as r(id uuid, version timestamptz, attempted boolean, status text, attempts integer,
        next timestamptz, error text, trace_ref text, score_date date)
    where s.id = r.id
      and (s.claimed_by = p_run_id
        or (r.status = 'sent' and s.status = 'pending' and s.updated_at = r.version))
    returning 1
  )
  select count(*)::integer from recorded
$$;

comment on function public.record_langfuse_score_results(uuid, jsonb, timestamptz) is
  'Records run p_run_id''s score results and ends its claims; idempotent. Returns the rows changed.';

-- p_results: [{id, stale, attempted, deleted, next, error}]. The run's row
-- counts the copies deleted, against Langfuse's daily delete limit.
create function public.record_stale_langfuse_score_deletes(p_run_id uuid, p_results jsonb)
returns integer
language sql
volatile
security invoker
set search_path = ''
as $$
  with recorded as (
    update public.langfuse_scores s set
      stale_langfuse_score_id = case when r.deleted then null else s.stale_langfuse_score_id end,
      attempts = s.attempts + case when r.attempted and not r.deleted then 1 else 0 end,
      next_attempt_at = case when r.attempted and not r.deleted then r.next else s.next_attempt_at end,
      last_error = case when r.attempted and not r.deleted then r.error else s.last_error end,
      claimed_by = null,
      claimed_until = null
    from jsonb_to_recordset(p_results)
      as r(id uuid, stale uuid, attempted boolean, deleted boolean, next timestamptz, error text)
    where s.id = r.id
      and s.stale_langfuse_score_id = r.stale
      and (s.claimed_by = p_run_id or r.deleted)
    returning r.deleted
  ),
  counted as (
    update public.langfuse_batch_runs set
      score_deletes = score_deletes + (select count(*) from recorded where recorded.deleted)
    where id = p_run_id
  )
  select count(*)::integer from recorded
$$;

comment on function public.record_stale_langfuse_score_deletes(uuid, jsonb) is
  'Records run p_run_id''s deletes of misfiled score copies and ends its claims; idempotent.';

-- -----------------------------------------------------------------------------
-- Grants: the sync (service role) only
-- -----------------------------------------------------------------------------
revoke execute on function
  public.claim_langfuse_trace_exports(uuid, integer, integer, timestamptz),
  public.claim_langfuse_scores(uuid, integer, integer, timestamptz),
  public.claim_stale_langfuse_scores(uuid, integer, integer, timestamptz),
  public.record_langfuse_trace_exports(uuid, jsonb, timestamptz),
  public.record_langfuse_score_results(uuid, jsonb, timestamptz),
  public.record_stale_langfuse_score_deletes(uuid, jsonb)
from public, anon, authenticated;

grant execute on function
  public.claim_langfuse_trace_exports(uuid, integer, integer, timestamptz),
  public.claim_langfuse_scores(uuid, integer, integer, timestamptz),
  public.claim_stale_langfuse_scores(uuid, integer, integer, timestamptz),
  public.record_langfuse_trace_exports(uuid, jsonb, timestamptz),
  public.record_langfuse_score_results(uuid, jsonb, timestamptz),
  public.record_stale_langfuse_score_deletes(uuid, jsonb)
to service_role;
