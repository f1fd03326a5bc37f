-- =============================================================================
-- Hosted Supabase only: purge pg_cron's own history, cron.job_run_details.
--
-- pg_cron adds a row there for every run and never deletes one ("The records
-- in the table are not cleaned automatically": citusdata/pg_cron README,
-- "Reviewing the cron.job_run_details table"). With langfuse-sync.sql (every
-- minute) and retention.sql (three jobs every five minutes) that is about
-- 2,300 rows a day. This job deletes, once a day, the runs that ended more
-- than 7 days ago, as that README recommends. Its row-level security lets a
-- user delete only runs of their own jobs: schedule this as the same user as
-- the others (postgres, in the SQL editor).
-- Run this file once; running it again replaces the job (same name). Not a
-- migration. To keep more or fewer days, change the interval.
-- To stop: select cron.unschedule('cron-history');
-- =============================================================================

create extension if not exists pg_cron;

select cron.schedule(
  'cron-history',
  '17 3 * * *',
  $$ delete from cron.job_run_details where end_time < now() - interval '7 days' $$
);
