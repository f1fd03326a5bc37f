-- =============================================================================
-- Hosted Supabase only: run the langfuse-sync Edge Function every minute.
--
-- Not a migration: it names one project's URL and secret key. It follows
-- Supabase's "Scheduling Edge Functions" guide: pg_cron schedules, pg_net
-- makes the HTTP call, Vault keeps the URL and the key out of the job text.
--
-- Once per project, in the SQL editor (or psql as postgres):
--   1. Enable the extensions pg_cron and pg_net (Database > Extensions), or
--      run the two `create extension` lines below.
--   2. Store the project URL and a secret API key (sb_secret_...) in Vault:
--        select vault.create_secret('https://<project-ref>.supabase.co', 'project_url');
--        select vault.create_secret('sb_secret_...', 'langfuse_sync_key');
--   3. Set the function's Langfuse secrets:
--        npx supabase secrets set LANGFUSE_PUBLIC_KEY=pk-lf-... LANGFUSE_SECRET_KEY=sk-lf-... \
--          LANGFUSE_BASE_URL=https://cloud.langfuse.com
--   4. Run this file. Running it again replaces the job (same name).
-- To stop: select cron.unschedule('langfuse-sync');
-- Runs and their outcome: select * from cron.job_run_details order by start_time desc limit 20;
--   and the function's own record: select * from public.langfuse_batch_runs order by started_at desc;
-- =============================================================================

create extension if not exists pg_cron;
create extension if not exists pg_net;

select cron.schedule(
  'langfuse-sync',
  '* * * * *',
  $$
  select net.http_post(
    url := (select decrypted_secret from vault.decrypted_secrets where name = 'project_url')
      || '/functions/v1/langfuse-sync',
    headers := jsonb_build_object(
      'content-type', 'application/json',
      'apikey', (select decrypted_secret from vault.decrypted_secrets where name = 'langfuse_sync_key')
    ),
    body := '{}'::jsonb,
    timeout_milliseconds := 60000
  );
  $$
);
