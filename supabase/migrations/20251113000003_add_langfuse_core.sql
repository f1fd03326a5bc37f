-- =============================================================================
-- Langfuse core tables (seed 004, migration 1)
--
--   langfuse_traces      one row per LLM call: what was asked, what came back
--   langfuse_scores      scores about a trace, queued for Langfuse
--   langfuse_batch_runs  one row per run of the Langfuse sync
--   rate_limit_logs      request counts per user, endpoint and window
--
-- Columns, CHECKs, foreign keys, ON DELETE rules and indexes are exactly the
-- seed's. Later migrations may add to these tables but never change this file.
-- Order matters: langfuse_traces first, because langfuse_scores and the app
-- tables (next migration) reference langfuse_traces.trace_id.
--
-- Access (RLS, policies, grants) is migration 20251113000005. Until then no
-- API role can reach these tables: the revokes below also undo the automatic
-- grants that projects created before 2026 still apply to new tables.
-- Rollback: supabase/rollbacks/20251113000003_add_langfuse_core.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- langfuse_traces
-- -----------------------------------------------------------------------------
create table public.langfuse_traces (
  id uuid primary key default gen_random_uuid(),
  trace_id uuid not null unique,
  entity_type text not null check (
    entity_type in ('ai_coach_message', 'encouragement_message', 'daily_status', 'reflection')
  ),
  entity_id uuid not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  input text not null,
  output text not null,
  metadata jsonb,
  tags text[],
  created_at timestamptz not null default now()
);

comment on table public.langfuse_traces is
  'One LLM call of the coach: prompt, reply and metrics. trace_id is the id the trace has in Langfuse.';
comment on column public.langfuse_traces.entity_id is
  'The app row the call produced (for example the ai_coach_messages reply).';

create index idx_langfuse_traces_entity on public.langfuse_traces (entity_type, entity_id);
create index idx_langfuse_traces_user_id on public.langfuse_traces (user_id);
create index idx_langfuse_traces_created_at on public.langfuse_traces (created_at);

-- -----------------------------------------------------------------------------
-- langfuse_scores
-- -----------------------------------------------------------------------------
create table public.langfuse_scores (
  id uuid primary key default gen_random_uuid(),
  trace_id uuid not null references public.langfuse_traces (trace_id) on delete cascade,
  score_name text not null check (
    score_name in ('user_feedback', 'mission_completed', 'next_day_activity', 'weekly_completion_rate')
  ),
  value numeric not null check (value in (0, 1)),
  comment text,
  metadata jsonb,
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  sent_at timestamptz,
  created_at timestamptz not null default now()
);

comment on table public.langfuse_scores is
  'A boolean score about a trace. pending until the Langfuse sync delivers it (sent) or gives up (failed).';

create index idx_langfuse_scores_trace_id on public.langfuse_scores (trace_id);
create index idx_langfuse_scores_status on public.langfuse_scores (status);
create index idx_langfuse_scores_created_at on public.langfuse_scores (created_at);

-- -----------------------------------------------------------------------------
-- langfuse_batch_runs
-- -----------------------------------------------------------------------------
create table public.langfuse_batch_runs (
  id uuid primary key,
  batch_name text not null,
  scores_created int not null default 0,
  scores_sent int not null default 0,
  errors jsonb,
  started_at timestamptz not null,
  completed_at timestamptz,
  created_at timestamptz not null default now()
);

comment on table public.langfuse_batch_runs is
  'One run of the Langfuse sync. A row without completed_at is a run that has not finished or crashed.';

create index idx_langfuse_batch_runs_batch_name on public.langfuse_batch_runs (batch_name);
create index idx_langfuse_batch_runs_created_at on public.langfuse_batch_runs (created_at);

-- -----------------------------------------------------------------------------
-- rate_limit_logs
-- -----------------------------------------------------------------------------
create table public.rate_limit_logs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  endpoint text not null,
  window_start timestamptz not null,
  request_count int not null default 1,
  created_at timestamptz not null default now()
);

comment on table public.rate_limit_logs is
  'Requests a user made to one endpoint in one fixed window.';

create unique index idx_rate_limit_logs_unique
  on public.rate_limit_logs (user_id, endpoint, window_start);
create index idx_rate_limit_logs_user_id on public.rate_limit_logs (user_id);

-- -----------------------------------------------------------------------------
-- No API access until the access migration
-- -----------------------------------------------------------------------------
revoke all on table
  public.langfuse_traces,
  public.langfuse_scores,
  public.langfuse_batch_runs,
  public.rate_limit_logs
from anon, authenticated;
