/**
 * When the Langfuse sync runs: every minute. The one place the cron
 * expression is defined; `npm start` schedules with it, and a test keeps
 * supabase/schedules/langfuse-sync.sql (pg_cron on hosted Supabase) equal.
 */
export const LANGFUSE_SYNC_CRON = '* * * * *';
