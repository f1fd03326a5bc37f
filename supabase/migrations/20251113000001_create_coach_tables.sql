-- =============================================================================
-- Coach tables: what the AI coach writes for a user.
--
--   ai_coach_messages       the chat between a user and the coach, one row a turn
--   encouragement_messages  encouragements the coach sends a user
--
-- A user reads and writes only their own rows. Coach-authored content is
-- written by Edge Functions (service role), so users may insert only their own
-- chat turns and may never author a coach reply. Column grants are allow-lists:
-- a column added later is not user-writable until a migration says so.
-- Rollback: supabase/rollbacks/20251113000001_create_coach_tables.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- ai_coach_messages
-- -----------------------------------------------------------------------------
create table public.ai_coach_messages (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid not null,
  role text not null check (role in ('user', 'assistant')),
  content text not null check (char_length(content) between 1 and 32000),
  created_at timestamptz not null default now()
);

comment on table public.ai_coach_messages is
  'One turn of a coaching conversation: the user''s message or the coach''s reply.';
comment on column public.ai_coach_messages.conversation_id is
  'Groups the turns of one conversation; the first turn chooses it.';
comment on column public.ai_coach_messages.role is
  'user: written by the user. assistant: the coach''s reply, written by the ai-coach function.';

-- Policies filter on user_id; history reads go by conversation in time order.
create index idx_ai_coach_messages_user_id_created_at
  on public.ai_coach_messages (user_id, created_at);
create index idx_ai_coach_messages_conversation_created_at
  on public.ai_coach_messages (conversation_id, created_at);

alter table public.ai_coach_messages enable row level security;

create policy "Users can view their own coach messages"
  on public.ai_coach_messages for select
  to authenticated
  using ((select auth.uid()) = user_id);

create policy "Users can write their own turns, never coach replies"
  on public.ai_coach_messages for insert
  to authenticated
  with check ((select auth.uid()) = user_id and role = 'user');

create policy "Users can delete their own coach messages"
  on public.ai_coach_messages for delete
  to authenticated
  using ((select auth.uid()) = user_id);

revoke all on table public.ai_coach_messages from anon, authenticated;
grant select, delete on table public.ai_coach_messages to authenticated;
grant insert (user_id, conversation_id, role, content) on table public.ai_coach_messages
  to authenticated;
grant select, insert, update, delete on table public.ai_coach_messages to service_role;

-- -----------------------------------------------------------------------------
-- encouragement_messages
-- -----------------------------------------------------------------------------
create table public.encouragement_messages (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  body text not null check (char_length(body) between 1 and 8000),
  read_at timestamptz,
  created_at timestamptz not null default now()
);

comment on table public.encouragement_messages is
  'An encouragement the coach wrote for a user. Written by the encouragement function.';
comment on column public.encouragement_messages.read_at is
  'When the user opened it; the only column a user may change.';

create index idx_encouragement_messages_user_id_created_at
  on public.encouragement_messages (user_id, created_at);

alter table public.encouragement_messages enable row level security;

create policy "Users can view their own encouragements"
  on public.encouragement_messages for select
  to authenticated
  using ((select auth.uid()) = user_id);

create policy "Users can mark their own encouragements as read"
  on public.encouragement_messages for update
  to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

create policy "Users can delete their own encouragements"
  on public.encouragement_messages for delete
  to authenticated
  using ((select auth.uid()) = user_id);

revoke all on table public.encouragement_messages from anon, authenticated;
grant select, delete on table public.encouragement_messages to authenticated;
grant update (read_at) on table public.encouragement_messages to authenticated;
grant select, insert, update, delete on table public.encouragement_messages to service_role;
