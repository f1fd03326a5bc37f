-- =============================================================================
-- Local demo data, loaded by `npm run db:reset` (and by `supabase db reset`).
--
-- Two users with a short coaching history: one conversation turn with its
-- trace and a pending feedback score, a reflection, an encouragement and a
-- daily status. Ids are fixed so the README's examples can refer to them.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Users
-- -----------------------------------------------------------------------------
insert into auth.users
  (instance_id, id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data,
   created_at, updated_at)
values
  ('00000000-0000-0000-0000-000000000000', '11111111-1111-4111-8111-111111111111',
   'authenticated', 'authenticated', 'demo@example.com', now(),
   '{"provider": "email", "providers": ["email"]}', '{"display_name": "Demo"}', now(), now()),
  ('00000000-0000-0000-0000-000000000000', '22222222-2222-4222-8222-222222222222',
   'authenticated', 'authenticated', 'friend@example.com', now(),
   '{"provider": "email", "providers": ["email"]}', '{"display_name": "Friend"}', now(), now())
-- On a Supabase database a reset keeps auth.users, so the users may already exist.
on conflict (id) do nothing;

-- -----------------------------------------------------------------------------
-- A coaching turn: the user's message, the coach's reply and its trace
-- -----------------------------------------------------------------------------
insert into public.langfuse_traces
  (trace_id, entity_type, entity_id, user_id, input, output, metadata, tags, created_at)
values
  ('aaaaaaaa-0000-4000-8000-000000000001', 'ai_coach_message',
   'cccccccc-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111',
   'I keep skipping my morning run. Any advice?',
   'Start smaller: put your shoes by the door and aim for ten minutes. Consistency beats distance.',
   '{"provider": "mock", "model": "mock-coach-1", "latency_ms": 412, "input_tokens": 58, "output_tokens": 24, "total_tokens": 82, "cost_usd": null, "usage_source": "provider"}',
   array['ai-coach', 'seed'], now() - interval '1 day');

insert into public.ai_coach_messages
  (id, user_id, conversation_id, role, content, langfuse_trace_id, created_at)
values
  ('cccccccc-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
   'dddddddd-0000-4000-8000-000000000001', 'user',
   'I keep skipping my morning run. Any advice?', null, now() - interval '1 day'),
  ('cccccccc-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111',
   'dddddddd-0000-4000-8000-000000000001', 'assistant',
   'Start smaller: put your shoes by the door and aim for ten minutes. Consistency beats distance.',
   'aaaaaaaa-0000-4000-8000-000000000001', now() - interval '1 day');

insert into public.langfuse_scores (trace_id, score_name, value, comment)
values ('aaaaaaaa-0000-4000-8000-000000000001', 'user_feedback', 1, 'Helpful, thanks!');

-- -----------------------------------------------------------------------------
-- Journal and encouragement
-- -----------------------------------------------------------------------------
insert into public.reflections (user_id, body, created_at)
values ('11111111-1111-4111-8111-111111111111',
        'Ran ten minutes today. Felt easier than expected.', now() - interval '1 day');

insert into public.daily_statuses
  (user_id, status_date, mood, note, mission, mission_completed, mission_completed_at)
values ('11111111-1111-4111-8111-111111111111', current_date - 1, 4, 'Good energy.',
        'Run for ten minutes', true, now() - interval '1 day');

insert into public.encouragement_messages (user_id, body)
values ('22222222-2222-4222-8222-222222222222',
        'Every small step counts. You showed up yesterday, and that matters.');
