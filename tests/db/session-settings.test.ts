/**
 * Policies trust nothing the user's session can set (issue 21): every policy,
 * view and function that reads a setting is listed from the catalog and
 * checked, and settings a user sets with set_config change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUser } from '../../supabase/functions/_shared/db/as-user.ts';
import { insertUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

/**
 * The only readers of a setting allowed: the platform's claim helpers, which
 * read the request's identity (request.jwt.claims) that PostgREST and asUser
 * set for each transaction. They say who the caller is; a session that could
 * set them at will could already be anyone, so no rule can rest on less.
 */
const IDENTITY = ['auth.email', 'auth.jwt', 'auth.role', 'auth.uid'];

describe('what reads a setting', () => {
  it('is listed from the catalog, and is only the identity of the request', async () => {
    const readers = await db.sql<{ kind: string; name: string }[]>`
      select 'function' as kind, n.nspname || '.' || p.proname as name
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname not in ('pg_catalog', 'information_schema')
        and p.prosrc ~* '(current_setting|pg_settings)'
      union all
      select 'policy', schemaname || '.' || tablename || ': ' || policyname
      from pg_catalog.pg_policies
      where concat(qual, ' ', with_check) ~* '(current_setting|pg_settings)'
      union all
      select 'view', schemaname || '.' || viewname
      from pg_catalog.pg_views
      where schemaname not in ('pg_catalog', 'information_schema')
        and definition ~* '(current_setting|pg_settings)'
      order by 1, 2
    `;
    expect(readers.map((reader) => `${reader.kind} ${reader.name}`)).toEqual(
      IDENTITY.map((name) => `function ${name}`),
    );
  });
});

describe('settings the user sets', () => {
  it('do not widen the daily-status window', async () => {
    const user = await insertUser(db.sql);
    const attempt = (date: string) =>
      asUser(db.sql, { role: 'authenticated', sub: user.id }, async (tx) => {
        await tx`
            select set_config('app.daily_status_days_back', '100000', true),
              set_config('app.daily_status_days_ahead', '100000', true),
              set_config('TimeZone', 'Pacific/Kiritimati', true)
          `;
        const [allowed] = await tx<{ ok: boolean }[]>`
            select public.daily_status_date_allowed(${user.id}, ${date}::date) as ok
          `;
        expect({ date, allowed: allowed?.ok }).toEqual({ date, allowed: false });
        return tx`
            insert into public.daily_statuses (user_id, status_date, mood)
            values (${user.id}, ${date}, 3) returning id
          `;
      });
    for (const date of ['2001-01-01', '2099-12-31']) {
      await expect(attempt(date)).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining('row-level security'),
      });
    }
    const [count] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from public.daily_statuses where user_id = ${user.id}
    `;
    expect(count?.n).toBe(0);
  });
});
