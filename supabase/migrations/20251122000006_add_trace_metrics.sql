-- =============================================================================
-- Typed metric columns on langfuse_traces, for analytics in plain SQL.
--
-- The functions keep writing the same numbers into metadata (what Langfuse
-- gets) and now also into these columns, which the usage views aggregate and
-- index. Existing rows are backfilled from metadata where it has them.
-- Rollback: supabase/rollbacks/20251122000006_add_trace_metrics.down.sql
-- =============================================================================

alter table public.langfuse_traces
  add column provider text,
  add column model text,
  add column status text check (status in ('success', 'error')),
  add column error text,
  add column latency_ms integer check (latency_ms >= 0),
  add column input_tokens integer check (input_tokens >= 0),
  add column output_tokens integer check (output_tokens >= 0),
  add column total_tokens integer check (total_tokens >= 0),
  add column cost_usd numeric(16, 10) check (cost_usd >= 0),
  add column usage_source text check (usage_source in ('provider', 'estimated', 'missing')),
  add column stream_status text check (stream_status in ('completed', 'aborted'));

comment on column public.langfuse_traces.error is
  'For a failed call: "<kind>: <message>", kind being timeout, upstream, aborted or internal.';
comment on column public.langfuse_traces.cost_usd is
  'From the price table at call time; null when the model has no price or the call used no tokens we know of.';
comment on column public.langfuse_traces.usage_source is
  'provider: the provider''s own token counts; estimated: counted from text; missing: none (a failed call).';

-- -----------------------------------------------------------------------------
-- Backfill
-- -----------------------------------------------------------------------------
update public.langfuse_traces set
  provider = metadata ->> 'provider',
  model = metadata ->> 'model',
  status = case when metadata ->> 'status' in ('success', 'error') then metadata ->> 'status' end,
  error = case
    when jsonb_typeof(metadata -> 'error') = 'object'
      then concat_ws(': ', metadata -> 'error' ->> 'kind', metadata -> 'error' ->> 'message')
  end,
  latency_ms = (metadata ->> 'latency_ms')::numeric::integer,
  input_tokens = (metadata ->> 'input_tokens')::numeric::integer,
  output_tokens = (metadata ->> 'output_tokens')::numeric::integer,
  total_tokens = (metadata ->> 'total_tokens')::numeric::integer,
  cost_usd = (metadata ->> 'cost_usd')::numeric,
  usage_source = case when metadata ->> 'usage_source' in ('provider', 'estimated', 'missing') then metadata ->> 'usage_source' end,
  stream_status = case when metadata ->> 'stream_status' in ('completed', 'aborted') then metadata ->> 'stream_status' end
where metadata is not null;

-- -----------------------------------------------------------------------------
-- Indexes for the usage views: by time, by user and month, by model, errors
-- -----------------------------------------------------------------------------
create index idx_langfuse_traces_user_id_created_at on public.langfuse_traces (user_id, created_at);
create index idx_langfuse_traces_model_created_at on public.langfuse_traces (model, created_at);
create index idx_langfuse_traces_errors on public.langfuse_traces (model, created_at) where status = 'error';
