-- =============================================================================
-- A coach reply, its trace and its budget settlement stored by one PL/pgSQL
-- function per kind.
--
-- Through Supavisor's transaction pooler the functions cannot use prepared
-- statements, so every statement they send is parsed, analysed and planned
-- anew. The statement that stored a reply (the kind's rows, the trace and the
-- settlement as CTEs) cost Postgres about as much again as its execution.
-- Called as a function with literal arguments, the statement is a function
-- call, cheap to plan, and PL/pgSQL keeps the plans of the inserts per
-- connection, as a prepared statement would: the same CPU as prepared
-- statements on a direct connection (measured in README "Benchmark"), and
-- still one round trip, pooler-safe.
--
--   coach_trace              (type) a trace row as the functions write it
--   budget_settlement        (type) a reservation and what the call used
--   record_coach_trace()     inserts the trace, then settles its budget (day,
--                            then month: reserve_budget's lock order)
--   store_ai_coach_reply()   the user's turn, the coach's reply, its trace
--   store_encouragement()    the encouragement and its trace
--   store_reflection()       the reflection with the coach's reply, its trace
--   store_daily_status()     the day's status (upserted) and its trace
--
-- Each is all or nothing: the rows, the trace and the settlement commit
-- together or not at all. A null trace stores the reply alone (the trace is
-- then written by the background writer, which links the row itself).
-- Rollback: supabase/rollbacks/20251130000005_add_reply_store_functions.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Types
-- -----------------------------------------------------------------------------
create type public.coach_trace as (
  trace_id uuid,
  entity_type text,
  user_id uuid,
  input text,
  output text,
  metadata jsonb,
  tags text[],
  provider text,
  model text,
  status text,
  error text,
  latency_ms integer,
  input_tokens integer,
  output_tokens integer,
  total_tokens integer,
  cost_usd numeric,
  usage_source text,
  stream_status text
);

comment on type public.coach_trace is
  'A langfuse_traces row as the coach functions write it (the entity id comes apart).';

create type public.budget_settlement as (
  user_id uuid,
  day date,
  month date,
  reserved_tokens bigint,
  reserved_cost numeric,
  used_tokens bigint,
  used_cost numeric
);

comment on type public.budget_settlement is
  'A call''s budget reservation (its windows and amounts) and what the call used.';

-- -----------------------------------------------------------------------------
-- record_coach_trace
-- -----------------------------------------------------------------------------
create function public.record_coach_trace(
  p_trace public.coach_trace,
  p_entity_id uuid,
  p_settlement public.budget_settlement
)
returns uuid
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  if (p_trace).trace_id is null then
    return null;
  end if;
  insert into public.langfuse_traces (
    trace_id, entity_type, entity_id, user_id, input, output, metadata, tags,
    provider, model, status, error, latency_ms, input_tokens, output_tokens, total_tokens,
    cost_usd, usage_source, stream_status
  )
  values (
    (p_trace).trace_id, (p_trace).entity_type, p_entity_id, (p_trace).user_id,
    (p_trace).input, (p_trace).output, (p_trace).metadata, (p_trace).tags,
    (p_trace).provider, (p_trace).model, (p_trace).status, (p_trace).error,
    (p_trace).latency_ms, (p_trace).input_tokens, (p_trace).output_tokens,
    (p_trace).total_tokens, (p_trace).cost_usd, (p_trace).usage_source, (p_trace).stream_status
  );
  -- One trace per call, so the reservation is settled exactly once.
  if (p_settlement).user_id is not null then
    perform public.settle_budget(
      (p_settlement).user_id, (p_settlement).day, (p_settlement).month,
      (p_settlement).reserved_tokens, (p_settlement).reserved_cost,
      (p_settlement).used_tokens, (p_settlement).used_cost
    );
  end if;
  return (p_trace).trace_id;
end
$$;

comment on function public.record_coach_trace(public.coach_trace, uuid, public.budget_settlement) is
  'Inserts a call''s trace for the entity and settles its budget reservation; null trace: nothing.';

-- -----------------------------------------------------------------------------
-- store_ai_coach_reply: the trace first, as the reply row references it
-- -----------------------------------------------------------------------------
create function public.store_ai_coach_reply(
  p_user_turn_id uuid,
  p_user_id uuid,
  p_conversation_id uuid,
  p_message text,
  p_received_at timestamptz,
  p_reply_id uuid,
  p_reply text,
  p_now timestamptz,
  p_trace public.coach_trace,
  p_settlement public.budget_settlement
)
returns table (id uuid)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_trace_id uuid;
begin
  v_trace_id := public.record_coach_trace(p_trace, p_reply_id, p_settlement);
  insert into public.ai_coach_messages (id, user_id, conversation_id, role, content, created_at)
  values (p_user_turn_id, p_user_id, p_conversation_id, 'user', p_message, p_received_at);
  return query
    insert into public.ai_coach_messages as m
      (id, user_id, conversation_id, role, content, created_at, langfuse_trace_id)
    values (p_reply_id, p_user_id, p_conversation_id, 'assistant', p_reply, p_now, v_trace_id)
    returning m.id;
end
$$;

comment on function public.store_ai_coach_reply(uuid, uuid, uuid, text, timestamptz, uuid, text, timestamptz, public.coach_trace, public.budget_settlement) is
  'Stores the user''s turn, the coach''s reply and its trace (with the budget settlement), all or nothing.';

-- -----------------------------------------------------------------------------
-- store_encouragement
-- -----------------------------------------------------------------------------
create function public.store_encouragement(
  p_id uuid,
  p_user_id uuid,
  p_reply text,
  p_trace public.coach_trace,
  p_settlement public.budget_settlement
)
returns table (id uuid)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_trace_id uuid;
begin
  v_trace_id := public.record_coach_trace(p_trace, p_id, p_settlement);
  return query
    insert into public.encouragement_messages as e (id, user_id, body, langfuse_trace_id)
    values (p_id, p_user_id, p_reply, v_trace_id)
    returning e.id;
end
$$;

comment on function public.store_encouragement(uuid, uuid, text, public.coach_trace, public.budget_settlement) is
  'Stores an encouragement and its trace (with the budget settlement), all or nothing.';

-- -----------------------------------------------------------------------------
-- store_reflection
-- -----------------------------------------------------------------------------
create function public.store_reflection(
  p_id uuid,
  p_user_id uuid,
  p_body text,
  p_reply text,
  p_received_at timestamptz,
  p_trace public.coach_trace,
  p_settlement public.budget_settlement
)
returns table (id uuid)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_trace_id uuid;
begin
  v_trace_id := public.record_coach_trace(p_trace, p_id, p_settlement);
  return query
    insert into public.reflections as r
      (id, user_id, body, coach_reply, created_at, updated_at, langfuse_trace_id)
    values (p_id, p_user_id, p_body, p_reply, p_received_at, p_received_at, v_trace_id)
    returning r.id;
end
$$;

comment on function public.store_reflection(uuid, uuid, text, text, timestamptz, public.coach_trace, public.budget_settlement) is
  'Stores a reflection with the coach''s reply and its trace (with the budget settlement), all or nothing.';

-- -----------------------------------------------------------------------------
-- store_daily_status: the day's row may exist (upsert), so the trace follows
-- it and names the row it landed on
-- -----------------------------------------------------------------------------
create function public.store_daily_status(
  p_id uuid,
  p_user_id uuid,
  p_date date,
  p_mood smallint,
  p_note text,
  p_mission text,
  p_mission_completed boolean,
  p_reply text,
  p_now timestamptz,
  p_trace public.coach_trace,
  p_settlement public.budget_settlement
)
returns table (id uuid, date text)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_id uuid;
  v_date date;
begin
  insert into public.daily_statuses as d
    (id, user_id, status_date, mood, note, mission, mission_completed, mission_completed_at, coach_comment)
  values (
    p_id, p_user_id, coalesce(p_date, public.user_local_date(p_user_id, p_now)), p_mood, p_note, p_mission,
    coalesce(p_mission_completed, false), case when p_mission_completed then p_now end, p_reply
  )
  on conflict (user_id, status_date) do update set
    mood = coalesce(excluded.mood, d.mood),
    note = coalesce(excluded.note, d.note),
    mission = coalesce(excluded.mission, d.mission),
    mission_completed = coalesce(p_mission_completed, d.mission_completed),
    mission_completed_at = case
      when p_mission_completed is null then d.mission_completed_at
      when p_mission_completed then coalesce(d.mission_completed_at, p_now)
    end,
    coach_comment = excluded.coach_comment,
    updated_at = p_now
  returning d.id, d.status_date into v_id, v_date;
  perform public.record_coach_trace(p_trace, v_id, p_settlement);
  return query select v_id, v_date::text;
end
$$;

comment on function public.store_daily_status(uuid, uuid, date, smallint, text, text, boolean, text, timestamptz, public.coach_trace, public.budget_settlement) is
  'Upserts the day''s status with the coach''s comment, then its trace (with the budget settlement), all or nothing.';

-- -----------------------------------------------------------------------------
-- Grants: the functions' service role only
-- -----------------------------------------------------------------------------
revoke execute on function
  public.record_coach_trace(public.coach_trace, uuid, public.budget_settlement),
  public.store_ai_coach_reply(uuid, uuid, uuid, text, timestamptz, uuid, text, timestamptz, public.coach_trace, public.budget_settlement),
  public.store_encouragement(uuid, uuid, text, public.coach_trace, public.budget_settlement),
  public.store_reflection(uuid, uuid, text, text, timestamptz, public.coach_trace, public.budget_settlement),
  public.store_daily_status(uuid, uuid, date, smallint, text, text, boolean, text, timestamptz, public.coach_trace, public.budget_settlement)
from public, anon, authenticated;
grant execute on function
  public.record_coach_trace(public.coach_trace, uuid, public.budget_settlement),
  public.store_ai_coach_reply(uuid, uuid, uuid, text, timestamptz, uuid, text, timestamptz, public.coach_trace, public.budget_settlement),
  public.store_encouragement(uuid, uuid, text, public.coach_trace, public.budget_settlement),
  public.store_reflection(uuid, uuid, text, text, timestamptz, public.coach_trace, public.budget_settlement),
  public.store_daily_status(uuid, uuid, date, smallint, text, text, boolean, text, timestamptz, public.coach_trace, public.budget_settlement)
to service_role;
