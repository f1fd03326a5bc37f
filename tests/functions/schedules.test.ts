/**
 * supabase/schedules/cron-history.sql: a daily pg_cron job whose command,
 * run on a real Postgres against pg_cron's own cron.job_run_details
 * (its definition in citusdata/pg_cron pg_cron--1.2--1.3.sql), deletes the
 * runs that ended over 7 days ago and keeps the rest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supabaseDir } from '../../local/tooling/project.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const file = readFileSync(join(supabaseDir, 'schedules', 'cron-history.sql'), 'utf8');
const job = /cron\.schedule\(\s*'([^']+)',\s*'([^']+)',\s*\$\$(.*?)\$\$\s*\)/s.exec(file);

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql.unsafe(`
    create schema cron;
    create sequence cron.runid_seq;
    create table cron.job_run_details (
      jobid bigint,
      runid bigint primary key default pg_catalog.nextval('cron.runid_seq'),
      job_pid integer, database text, username text, command text, status text,
      return_message text, start_time timestamptz, end_time timestamptz
    );
  `);
});
afterAll(async () => {
  await db?.drop();
});

describe('the cron history purge', () => {
  it('is one daily job', () => {
    expect(job?.[1]).toBe('cron-history');
    expect(job?.[2]).toMatch(/^\d+ \d+ \* \* \*$/);
  });

  it('deletes runs that ended over 7 days ago, and keeps recent and unfinished ones', async () => {
    await db.sql`
      insert into cron.job_run_details (jobid, username, status, start_time, end_time) values
        (1, 'postgres', 'succeeded', now() - interval '8 days', now() - interval '8 days'),
        (1, 'postgres', 'failed', now() - interval '30 days', now() - interval '30 days'),
        (1, 'postgres', 'succeeded', now() - interval '6 days', now() - interval '6 days'),
        (2, 'postgres', 'running', now() - interval '8 days', null)
    `;
    await db.sql.unsafe(job?.[3] as string);
    const left = await db.sql<{ status: string }[]>`
      select status from cron.job_run_details order by start_time
    `;
    expect(left.map((row) => row.status)).toEqual(['running', 'succeeded']);
  });
});
