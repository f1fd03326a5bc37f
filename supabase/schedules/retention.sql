-- =============================================================================
-- Hosted Supabase only: retention every five minutes, with pg_cron.
--
-- Each job deletes at most one batch (the functions' default batch sizes), so
-- its transaction and its locks stay short; a backlog drains over the next
-- runs. Traces are kept 90 days (their scores go with them; a trace with a
-- pending score stays), rate-limit windows a day, completed sync runs 30 days.
-- Change the numbers here to change the policy. Run this file once; running
-- it again replaces the jobs. Not a migration.
-- To stop: select cron.unschedule(name) for each job name below.
-- =============================================================================

create extension if not exists pg_cron;

select cron.schedule('retention-traces', '*/5 * * * *', $$ select public.cleanup_old_traces(90) $$);
select cron.schedule('retention-rate-limit-logs', '*/5 * * * *', $$ select public.cleanup_rate_limit_logs('1 day') $$);
select cron.schedule('retention-batch-runs', '*/5 * * * *', $$ select public.cleanup_batch_runs(30) $$);
