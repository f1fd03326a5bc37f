-- =============================================================================
-- A conversation belongs to the user who started it (issue 21).
--
-- ai_coach_messages.conversation_id was any uuid: ai-coach stored a turn
-- under another user's conversation when sent its id (their history stayed
-- out of the prompt, but the turn joined their conversation and their
-- Langfuse session), and the user grants allowed the same. Now:
--
--   ai_coach_conversations   who owns each conversation id: the user whose
--                            turn first used it. Written by the trigger below.
--   ai_coach_messages        (user_id, conversation_id) references it, so a
--                            turn can only join its own user's conversation
--                            (23503 otherwise, for the functions and the user
--                            grants alike)
--   claim_ai_coach_conversation()  before a turn is written, records its id
--                            as the user's when nobody has it yet
--
-- ai-coach itself answers 404 for another user's id before counting the
-- request or calling the LLM (the rate-limit statement reads this table).
-- Where a conversation already had turns of several users, it stays with the
-- first user; the others' turns move to new conversations of their own.
-- Rollback: supabase/rollbacks/20251205000006_conversation_owners.down.sql
-- =============================================================================

-- -----------------------------------------------------------------------------
-- ai_coach_conversations
-- -----------------------------------------------------------------------------
create table public.ai_coach_conversations (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  constraint ai_coach_conversations_user_id_id_key unique (user_id, id)
);

comment on table public.ai_coach_conversations is
  'The owner of each ai-coach conversation id: the user whose turn first used it.';

insert into public.ai_coach_conversations (id, user_id, created_at)
select distinct on (m.conversation_id) m.conversation_id, m.user_id, m.created_at
from public.ai_coach_messages m
order by m.conversation_id, m.created_at, m.id;

-- Turns of other users in a conversation they did not start: one new conversation per user.
with strays as materialized (
  select pair.conversation_id, pair.user_id, gen_random_uuid() as new_id
  from (
    select distinct m.conversation_id, m.user_id
    from public.ai_coach_messages m
    where not exists (
      select 1 from public.ai_coach_conversations c
      where c.id = m.conversation_id and c.user_id = m.user_id
    )
  ) pair
),
owned as (
  insert into public.ai_coach_conversations (id, user_id)
  select s.new_id, s.user_id from strays s
)
update public.ai_coach_messages m set conversation_id = s.new_id
from strays s
where m.conversation_id = s.conversation_id and m.user_id = s.user_id;

alter table public.ai_coach_conversations enable row level security;

create policy "Users can view their own conversations"
  on public.ai_coach_conversations for select
  to authenticated
  using ((select auth.uid()) = user_id);

revoke all on table public.ai_coach_conversations from anon, authenticated;
grant select on table public.ai_coach_conversations to authenticated;
grant select, insert, update, delete on table public.ai_coach_conversations to service_role;

-- -----------------------------------------------------------------------------
-- Turns join only their own user's conversation
-- -----------------------------------------------------------------------------
create function public.claim_ai_coach_conversation()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- Taken by someone else: nothing here; the foreign key refuses the turn.
  insert into public.ai_coach_conversations (id, user_id)
  values (new.conversation_id, new.user_id)
  on conflict (id) do nothing;
  return new;
end
$$;

comment on function public.claim_ai_coach_conversation() is
  'Trigger: records a turn''s conversation id as its user''s when nobody has it yet (runs as its owner: users cannot write the table).';

create trigger claim_ai_coach_conversation
  before insert or update of conversation_id, user_id on public.ai_coach_messages
  for each row execute function public.claim_ai_coach_conversation();

alter table public.ai_coach_messages
  add constraint ai_coach_messages_conversation_owner_fkey
    foreign key (user_id, conversation_id)
    references public.ai_coach_conversations (user_id, id) on delete cascade;

revoke execute on function public.claim_ai_coach_conversation() from public, anon, authenticated;
