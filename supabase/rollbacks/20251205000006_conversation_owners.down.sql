-- =============================================================================
-- Rollback of 20251205000006_conversation_owners.sql: any
-- conversation id again. Turns moved to conversations of their own stay there.
-- =============================================================================

alter table public.ai_coach_messages drop constraint ai_coach_messages_conversation_owner_fkey;
drop trigger claim_ai_coach_conversation on public.ai_coach_messages;
drop function public.claim_ai_coach_conversation();
drop table public.ai_coach_conversations;
