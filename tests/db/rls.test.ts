/**
 * RLS as PostgREST applies it: each query runs through asUser (the module the
 * Edge Functions use), which switches role and sets request.jwt.claims with
 * bind parameters inside one transaction.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asUser,
  InvalidRoleError,
  type JwtClaims,
} from '../../supabase/functions/_shared/db/as-user.ts';
import { tablePrivileges } from '../support/catalog.ts';
import {
  insertCoachTurn,
  insertScore,
  insertUser,
  type TestTrace,
  type TestUser,
} from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let alice: TestUser;
let bob: TestUser;
let aliceTrace: TestTrace;
let bobTrace: TestTrace;

const user = (u: TestUser): JwtClaims => ({
  role: 'authenticated',
  sub: u.id,
  aud: 'authenticated',
});
const anon: JwtClaims = { role: 'anon' };
const service: JwtClaims = { role: 'service_role' };

const RLS_VIOLATION = { code: '42501', message: expect.stringContaining('row-level security') };
const NO_PRIVILEGE = { code: '42501', message: expect.stringContaining('permission denied') };

beforeAll(async () => {
  db = await createTestDatabase();
  alice = await insertUser(db.sql, 'alice@example.com');
  bob = await insertUser(db.sql, 'bob@example.com');
  aliceTrace = await insertCoachTurn(db.sql, alice.id);
  bobTrace = await insertCoachTurn(db.sql, bob.id);
  await insertScore(db.sql, aliceTrace.traceId, 'mission_completed', 1);
  await insertScore(db.sql, bobTrace.traceId, 'next_day_activity', 0);
  await db.sql`
    insert into public.rate_limit_logs (user_id, endpoint, window_start)
    values (${alice.id}, 'ai-coach', date_trunc('minute', now()))
  `;
  await db.sql`
    insert into public.langfuse_batch_runs (id, batch_name, started_at)
    values (${randomUUID()}, 'langfuse-sync', now())
  `;
});

afterAll(() => db?.drop());

function feedback(traceId: string, overrides: Record<string, unknown> = {}) {
  return {
    trace_id: traceId,
    score_name: 'user_feedback',
    value: 1,
    comment: null,
    status: 'pending',
    sent_at: null,
    ...overrides,
  };
}

describe('langfuse_traces', () => {
  it('shows a user only their own traces', async () => {
    const rows = await asUser(
      db.sql,
      user(alice),
      (tx) => tx`select trace_id, user_id from public.langfuse_traces`,
    );
    expect(rows).toEqual([{ trace_id: aliceTrace.traceId, user_id: alice.id }]);
  });

  it("does not show another user's trace, even by id", async () => {
    const rows = await asUser(
      db.sql,
      user(bob),
      (tx) => tx`select 1 from public.langfuse_traces where trace_id = ${aliceTrace.traceId}`,
    );
    expect(rows).toHaveLength(0);
  });

  it('lets no user write traces', async () => {
    await expect(
      asUser(
        db.sql,
        user(alice),
        (tx) => tx`delete from public.langfuse_traces where trace_id = ${aliceTrace.traceId}`,
      ),
    ).rejects.toMatchObject(NO_PRIVILEGE);
  });
});

describe('langfuse_scores', () => {
  it('shows a user only the scores of their own traces', async () => {
    const rows = await asUser(
      db.sql,
      user(alice),
      (tx) => tx`select trace_id, score_name from public.langfuse_scores`,
    );
    expect(rows).toEqual([{ trace_id: aliceTrace.traceId, score_name: 'mission_completed' }]);
  });

  it('lets a user give pending user_feedback on their own trace', async () => {
    const rows = await asUser(db.sql, user(alice), async (tx) => {
      await tx`insert into public.langfuse_scores ${tx(feedback(aliceTrace.traceId, { comment: 'nice' }))}`;
      return tx`select score_name, value, status, sent_at from public.langfuse_scores where score_name = 'user_feedback'`;
    });
    expect(rows).toEqual([
      { score_name: 'user_feedback', value: '1', status: 'pending', sent_at: null },
    ]);
  });

  it("does not let B score A's trace", async () => {
    await expect(
      asUser(
        db.sql,
        user(bob),
        (tx) => tx`insert into public.langfuse_scores ${tx(feedback(aliceTrace.traceId))}`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
  });

  it.each([
    ['mission_completed', { score_name: 'mission_completed' }],
    ['next_day_activity', { score_name: 'next_day_activity' }],
    ['weekly_completion_rate', { score_name: 'weekly_completion_rate' }],
    ['a sent score', { status: 'sent' }],
    ['a failed score', { status: 'failed' }],
    ['a score with sent_at', { sent_at: new Date() }],
  ])('does not let a user forge %s on their own trace', async (_, overrides) => {
    await expect(
      asUser(
        db.sql,
        user(alice),
        (tx) =>
          tx`insert into public.langfuse_scores ${tx(feedback(aliceTrace.traceId, overrides))}`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
  });

  it('does not let a user choose the score id, metadata or created_at', async () => {
    for (const column of [{ id: randomUUID() }, { metadata: '{}' }, { created_at: new Date(0) }]) {
      await expect(
        asUser(
          db.sql,
          user(alice),
          (tx) =>
            tx`insert into public.langfuse_scores ${tx(feedback(aliceTrace.traceId, column))}`,
        ),
      ).rejects.toMatchObject(NO_PRIVILEGE);
    }
  });

  it('does not let a user change or delete a score', async () => {
    await expect(
      asUser(db.sql, user(alice), (tx) => tx`update public.langfuse_scores set status = 'sent'`),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    await expect(
      asUser(db.sql, user(alice), (tx) => tx`delete from public.langfuse_scores`),
    ).rejects.toMatchObject(NO_PRIVILEGE);
  });
});

describe('anon and service_role', () => {
  it.each([
    'langfuse_traces',
    'langfuse_scores',
    'langfuse_batch_runs',
    'rate_limit_logs',
    'ai_coach_messages',
    'encouragement_messages',
    'reflections',
    'daily_statuses',
  ])('anon can read nothing from %s', async (table) => {
    expect(await tablePrivileges(db.sql, 'anon', table)).toEqual([]);
    await expect(
      asUser(db.sql, anon, (tx) => tx`select * from ${tx(table)}`),
    ).rejects.toMatchObject(NO_PRIVILEGE);
  });

  it('service_role sees every row', async () => {
    const [counts] = await asUser(
      db.sql,
      service,
      (tx) => tx`
      select (select count(*)::int from public.langfuse_traces) as traces,
             (select count(*)::int from public.langfuse_scores) as scores,
             (select count(*)::int from public.rate_limit_logs) as windows,
             (select count(*)::int from public.langfuse_batch_runs) as runs
    `,
    );
    const [truth] = await db.sql`
      select (select count(*)::int from public.langfuse_traces) as traces,
             (select count(*)::int from public.langfuse_scores) as scores,
             (select count(*)::int from public.rate_limit_logs) as windows,
             (select count(*)::int from public.langfuse_batch_runs) as runs
    `;
    expect(counts).toEqual(truth);
    expect(counts?.traces).toBe(2);
  });

  it.each(['langfuse_batch_runs', 'rate_limit_logs'])('%s is service-role only', async (table) => {
    expect(await tablePrivileges(db.sql, 'authenticated', table)).toEqual([]);
    await expect(
      asUser(db.sql, user(alice), (tx) => tx`select * from ${tx(table)}`),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    expect(await tablePrivileges(db.sql, 'service_role', table)).toEqual([
      'SELECT',
      'INSERT',
      'UPDATE',
      'DELETE',
    ]);
  });

  it('refuses to switch to a role that is not an API role', async () => {
    const claims = { role: 'postgres', sub: alice.id } as unknown as JwtClaims;
    await expect(asUser(db.sql, claims, (tx) => tx`select 1`)).rejects.toBeInstanceOf(
      InvalidRoleError,
    );
  });
});

describe('app tables', () => {
  it('shows a user only their own coach messages', async () => {
    const rows = await asUser(
      db.sql,
      user(bob),
      (tx) => tx`select distinct user_id from public.ai_coach_messages`,
    );
    expect(rows).toEqual([{ user_id: bob.id }]);
  });

  it('lets a user write their own turn but never a coach reply or a trace link', async () => {
    const turn = {
      user_id: alice.id,
      conversation_id: randomUUID(),
      role: 'user',
      content: 'Hi coach',
    };
    await asUser(db.sql, user(alice), (tx) => tx`insert into public.ai_coach_messages ${tx(turn)}`);
    await expect(
      asUser(
        db.sql,
        user(alice),
        (tx) => tx`insert into public.ai_coach_messages ${tx({ ...turn, role: 'assistant' })}`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    await expect(
      asUser(
        db.sql,
        user(alice),
        (tx) => tx`insert into public.ai_coach_messages ${tx({ ...turn, user_id: bob.id })}`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    await expect(
      asUser(
        db.sql,
        user(alice),
        (tx) =>
          tx`insert into public.ai_coach_messages ${tx({ ...turn, langfuse_trace_id: bobTrace.traceId })}`,
      ),
    ).rejects.toMatchObject(NO_PRIVILEGE);
  });

  it("cannot delete another user's messages", async () => {
    const deleted = await asUser(
      db.sql,
      user(bob),
      (tx) => tx`delete from public.ai_coach_messages where user_id = ${alice.id} returning id`,
    );
    expect(deleted).toHaveLength(0);
    const [left] =
      await db.sql`select count(*)::int as n from public.ai_coach_messages where user_id = ${alice.id}`;
    expect(left?.n).toBeGreaterThan(0);
  });

  it('lets a user mark an encouragement read but not rewrite it', async () => {
    const [row] = await db.sql<{ id: string }[]>`
      insert into public.encouragement_messages (user_id, body) values (${alice.id}, 'Keep going') returning id
    `;
    const updated = await asUser(
      db.sql,
      user(alice),
      (tx) =>
        tx`update public.encouragement_messages set read_at = now() where id = ${row?.id ?? ''} returning id`,
    );
    expect(updated).toHaveLength(1);
    await expect(
      asUser(
        db.sql,
        user(alice),
        (tx) => tx`update public.encouragement_messages set body = 'forged'`,
      ),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    const bobsView = await asUser(
      db.sql,
      user(bob),
      (tx) => tx`update public.encouragement_messages set read_at = now() returning id`,
    );
    expect(bobsView).toHaveLength(0);
  });

  it('lets a user keep their own journal, without writing the coach text', async () => {
    await asUser(db.sql, user(alice), async (tx) => {
      await tx`insert into public.reflections ${tx({ user_id: alice.id, body: 'A good day' })}`;
      await tx`
        insert into public.daily_statuses ${tx({
          user_id: alice.id,
          status_date: new Date().toISOString().slice(0, 10),
          mood: 4,
          mission: 'Walk',
          mission_completed: true,
          mission_completed_at: new Date(),
        })}
      `;
    });
    await expect(
      asUser(db.sql, user(alice), (tx) => tx`update public.reflections set coach_reply = 'forged'`),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    await expect(
      asUser(
        db.sql,
        user(alice),
        (tx) => tx`update public.daily_statuses set coach_comment = 'forged'`,
      ),
    ).rejects.toMatchObject(NO_PRIVILEGE);
    await expect(
      asUser(
        db.sql,
        user(bob),
        (tx) => tx`insert into public.reflections ${tx({ user_id: alice.id, body: 'x' })}`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    const bobSees = await asUser(
      db.sql,
      user(bob),
      (tx) => tx`select id from public.daily_statuses`,
    );
    expect(bobSees).toHaveLength(0);
  });
});
