/**
 * The Langfuse sync against the local Langfuse-compatible server: nothing
 * lost, nothing duplicated, through outages, partial 207s and 429s, and with
 * two runs at once. Every payload is checked against Langfuse's OpenAPI spec.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LangfuseServer } from '../../local/langfuse/server.ts';
import { createKeys, platformEnv } from '../../local/tooling/keys.ts';
import { authEnvFrom, createAuthenticator } from '../../supabase/functions/_shared/auth.ts';
import type { SyncConfig } from '../../supabase/functions/_shared/langfuse/config.ts';
import { createSyncHandler } from '../../supabase/functions/_shared/langfuse/handler.ts';
import { runSync, type SyncDeps } from '../../supabase/functions/_shared/langfuse/sync.ts';
import { langfuseTraceId } from '../../supabase/functions/_shared/langfuse/trace-id.ts';
import { insertUser } from '../support/rows.ts';
import { type SyncFixture, startSyncFixture } from '../support/sync-fixture.ts';
import type { TestDatabase } from '../support/test-database.ts';

let fixture: SyncFixture;
let db: TestDatabase;
let langfuse: LangfuseServer;
let now: Date;

const clock = { now: () => now };
const minutes = (n: number) => n * 60_000;
const deps = (overrides: Partial<SyncConfig> = {}): SyncDeps => fixture.deps(clock, overrides);

beforeAll(async () => {
  fixture = await startSyncFixture({ LANGFUSE_TIMEOUT_MS: '2000', SYNC_MAX_TRACES: '5000' });
  ({ db, langfuse } = fixture);
});
afterAll(() => fixture?.stop());
beforeEach(async () => {
  now = new Date();
  await fixture.reset();
});

/** n traces with a pending user_feedback score each; returns the score ids. */
const pendingScores = async (n: number) => (await fixture.pendingScores(n)).scoreIds;

async function statuses() {
  return db.sql<
    {
      id: string;
      status: string;
      attempts: number;
      sent: boolean;
      next_attempt_at: Date | null;
      last_error: string | null;
    }[]
  >`
    select id, status, attempts, sent_at is not null as sent, next_attempt_at, last_error from public.langfuse_scores order by created_at
  `;
}

const deliveriesById = () => fixture.scoreDeliveries();

describe('a sync run', () => {
  it('exports traces over OTLP, sends scores as valid score-create events, and records the run', async () => {
    const ids = await pendingScores(3);
    const summary = await runSync(deps());
    expect(summary).toMatchObject({
      usageRolledUp: 3,
      tracesExported: 3,
      scoresSent: 3,
      scoresFailed: 0,
      stoppedBecause: [],
    });

    expect(langfuse.invalid).toEqual([]);
    expect([...langfuse.scores.keys()].sort()).toEqual([...ids].sort());
    const body = langfuse.scores.get(ids[1] as string);
    expect(body).toMatchObject({
      id: ids[1],
      name: 'user_feedback',
      value: 1,
      dataType: 'BOOLEAN',
      comment: 'c1',
      environment: 'test',
    });
    const [score] =
      await db.sql`select trace_id, created_at from public.langfuse_scores where id = ${ids[1] as string}`;
    expect(body?.traceId).toBe(langfuseTraceId(score?.trace_id));
    const event = langfuse.scoreEvents.find((e) => e.body.id === ids[1]);
    expect(event?.timestamp).toBe((score?.created_at as Date | undefined)?.toISOString());

    const [trace] =
      await db.sql`select trace_id, user_id, exported_at from public.langfuse_traces where trace_id = ${score?.trace_id}`;
    expect(trace?.exported_at).toEqual(now);
    const spans = langfuse.spans.get(langfuseTraceId(trace?.trace_id)) ?? [];
    expect(spans.map((s) => s.name).sort()).toEqual(['ai-coach', 'llm']);
    const root = spans.find((s) => s.name === 'ai-coach');
    const generation = spans.find((s) => s.name === 'llm');
    expect(root?.parentSpanId).toBe('');
    expect(generation?.parentSpanId).toBe(root?.spanId);
    expect(root?.attributes).toMatchObject({
      'user.id': trace?.user_id,
      'langfuse.trace.tags': ['ai-coach'],
      'langfuse.environment': 'test',
    });
    expect(generation?.attributes).toMatchObject({
      'langfuse.observation.type': 'generation',
      'langfuse.observation.model.name': 'mock-coach-1',
    });

    expect(await statuses()).toEqual(
      ids.map((id) => expect.objectContaining({ id, status: 'sent', attempts: 1, sent: true })),
    );
    const [run] =
      await db.sql`select * from public.langfuse_batch_runs where id = ${summary.runId}`;
    expect(run).toMatchObject({ batch_name: 'langfuse-sync', scores_sent: 3, errors: null });
    expect(run?.completed_at).toBeInstanceOf(Date);

    const again = await runSync(deps());
    expect(again).toMatchObject({ tracesExported: 0, scoresSent: 0 });
    expect([...deliveriesById().values()]).toEqual([1, 1, 1]);
  });

  it('rides out an outage: every score and trace arrives exactly once after recovery', async () => {
    const ids = await pendingScores(5);
    langfuse.faults.status = { code: 500 };
    for (let run = 0; run < 3; run += 1) {
      const summary = await runSync(deps());
      expect(summary.scoresSent).toBe(0);
      expect(summary.stoppedBecause.length).toBeGreaterThan(0);
      now = new Date(now.getTime() + minutes(60));
    }
    const during = await statuses();
    expect(during.every((s) => s.status === 'pending' && !s.sent && s.attempts === 3)).toBe(true);
    const runs =
      await db.sql`select errors, completed_at from public.langfuse_batch_runs order by started_at`;
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.completed_at && r.errors.stoppedBecause.length > 0)).toBe(true);

    langfuse.faults.status = null;
    now = new Date(now.getTime() + minutes(24 * 60));
    const recovered = await runSync(deps());
    expect(recovered).toMatchObject({ tracesExported: 5, scoresSent: 5 });
    expect([...deliveriesById().entries()].sort()).toEqual(ids.map((id) => [id, 1]).sort());
    expect(langfuse.spans.size).toBe(5);
    expect((await statuses()).every((s) => s.status === 'sent')).toBe(true);
  });

  it('settles a partial 207 per event: 4xx fails, 5xx retries, the rest are sent once', async () => {
    const [rejected, flaky, ...fine] = await pendingScores(4);
    langfuse.faults.eventErrors.set(rejected as string, { status: 400, message: 'invalid score' });
    langfuse.faults.eventErrors.set(flaky as string, {
      status: 500,
      message: 'try later',
      times: 1,
    });
    const first = await runSync(deps());
    expect(first).toMatchObject({ scoresSent: 2, scoresFailed: 1, scoresRetried: 1 });
    const byId = new Map((await statuses()).map((s) => [s.id, s]));
    expect(byId.get(rejected as string)).toMatchObject({
      status: 'failed',
      last_error: expect.stringContaining('invalid score'),
    });
    expect(byId.get(flaky as string)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(byId.get(flaky as string)?.next_attempt_at?.getTime()).toBeGreaterThan(now.getTime());

    now = new Date(now.getTime() + minutes(5));
    const second = await runSync(deps());
    expect(second).toMatchObject({ scoresSent: 1, scoresFailed: 0 });
    const deliveries = deliveriesById();
    expect(deliveries.get(flaky as string)).toBe(1);
    for (const id of fine) expect(deliveries.get(id)).toBe(1);
    expect(deliveries.has(rejected as string)).toBe(false);
    const [run] =
      await db.sql`select errors from public.langfuse_batch_runs order by started_at limit 1`;
    expect(run?.errors).toMatchObject({ scoresFailed: 1, scoresRetried: 1 });
  });

  it('respects a 429 Retry-After', async () => {
    await pendingScores(2);
    langfuse.faults.status = { code: 429, retryAfterSeconds: 900, paths: ['ingestion'], times: 1 };
    const limited = await runSync(deps());
    expect(limited.scoresSent).toBe(0);
    const waiting = await statuses();
    for (const score of waiting) {
      expect(score.next_attempt_at?.getTime()).toBeGreaterThanOrEqual(now.getTime() + 900_000);
    }
    const start = now;
    now = new Date(start.getTime() + 899_000);
    expect((await runSync(deps())).scoresSent).toBe(0);
    now = new Date(start.getTime() + 900_000);
    expect((await runSync(deps())).scoresSent).toBe(2);
  });

  it('retries after a dropped connection and after a timeout', async () => {
    await pendingScores(2);
    langfuse.faults.drop = { times: 2 };
    const dropped = await runSync(deps());
    expect(dropped.scoresSent).toBe(0);
    expect(dropped.stoppedBecause.length).toBeGreaterThan(0);

    now = new Date(now.getTime() + minutes(60));
    langfuse.faults.delayMs = 1500;
    const slow = await runSync(deps({ langfuse: { ...fixture.settings, timeoutMs: 300 } }));
    expect(slow.scoresSent).toBe(0);
    expect((await statuses()).every((s) => s.status === 'pending' && s.attempts === 2)).toBe(true);

    langfuse.faults.delayMs = 0;
    now = new Date(now.getTime() + minutes(60));
    expect((await runSync(deps())).scoresSent).toBe(2);
    expect([...deliveriesById().values()]).toEqual([1, 1]);
  });

  it('gives up on a score after the maximum attempts', async () => {
    const [id] = await pendingScores(1);
    langfuse.faults.status = { code: 503, paths: ['ingestion'] };
    for (let run = 0; run < 3; run += 1) {
      await runSync(deps({ maxAttempts: 3 }));
      now = new Date(now.getTime() + minutes(24 * 60));
    }
    // (Derived scores appear as the clock moves on; this test follows the feedback score.)
    expect((await statuses()).find((s) => s.id === id)).toMatchObject({
      status: 'failed',
      attempts: 3,
    });
  });

  it('sends a changed feedback again under the same id, newest value last', async () => {
    const [id] = await pendingScores(1);
    await runSync(deps());
    await db.sql`update public.langfuse_scores set value = 1, comment = 'changed my mind' where id = ${id as string}`;
    now = new Date(now.getTime() + 1000);
    await runSync(deps());
    expect(langfuse.scoreEvents.map((e) => [e.body.id, e.body.value])).toEqual([
      [id, 0],
      [id, 1],
    ]);
    expect(langfuse.scores.get(id as string)).toMatchObject({
      value: 1,
      comment: 'changed my mind',
    });
    const [first, second] = langfuse.scoreEvents;
    expect(first?.id).not.toBe(second?.id);
    expect(Date.parse(second?.timestamp as string)).toBeGreaterThan(
      Date.parse(first?.timestamp as string),
    );
  });

  it('splits a trace batch over the OTLP byte cap; a failed request leaves its rows and the rest for later', async () => {
    await pendingScores(3);
    let otlpCalls = 0;
    const failSecond: typeof fetch = (input, init) => {
      otlpCalls += 1;
      if (otlpCalls === 2) return Promise.resolve(new Response('busy', { status: 503 }));
      return fetch(input, init);
    };
    const first = await runSync({ ...deps({ otlpMaxBytes: 1 }), fetch: failSecond });
    expect(first.tracesExported).toBe(1);
    expect(first.stoppedBecause.join()).toMatch(/trace export failed: HTTP 503/);
    expect(langfuse.spans.size).toBe(1);
    // The failed request's row waits with backoff; the one not sent yet is only released.
    const waiting = await db.sql`
      select export_attempts, export_next_attempt_at > ${now} as backing_off, export_error,
        export_claimed_by
      from public.langfuse_traces where exported_at is null order by export_attempts desc
    `;
    expect(waiting).toEqual([
      {
        export_attempts: 1,
        backing_off: true,
        export_error: expect.stringContaining('HTTP 503'),
        export_claimed_by: null,
      },
      { export_attempts: 0, backing_off: null, export_error: null, export_claimed_by: null },
    ]);

    now = new Date(now.getTime() + minutes(60));
    const second = await runSync(deps({ otlpMaxBytes: 1 }));
    expect(second.tracesExported).toBe(2);
    expect(langfuse.spans.size).toBe(3);
    const otlpRequests = langfuse.requests.filter((r) => r.path === '/api/public/otel/v1/traces');
    expect(otlpRequests).toHaveLength(3);
    expect([...langfuse.spans.values()].every((spans) => spans.length === 2)).toBe(true);
  });

  it('closes the rows of runs that died, reports each once, and takes over their work', async () => {
    await pendingScores(1);
    const crashed = randomUUID();
    const recent = randomUUID();
    await db.sql`
      insert into public.langfuse_batch_runs (id, batch_name, started_at) values
        (${crashed}, 'langfuse-sync', ${new Date(now.getTime() - minutes(30))}),
        (${recent}, 'langfuse-sync', ${new Date(now.getTime() - 1000)})
    `;
    const summary = await runSync(deps());
    // A run that started a second ago may still be alive: it stays open.
    expect(summary.abandonedRuns).toEqual([crashed]);
    expect(summary.scoresSent).toBe(1);
    const [closed] =
      await db.sql`select completed_at, errors from public.langfuse_batch_runs where id = ${crashed}`;
    expect(closed?.completed_at).toEqual(now);
    expect(closed?.errors).toEqual({ abandoned: true, closedBy: summary.runId });
    const [run] =
      await db.sql`select errors from public.langfuse_batch_runs where id = ${summary.runId}`;
    expect(run?.errors).toMatchObject({ abandonedRuns: [crashed] });

    // Open for longer than a run can live (its time budget and a lease): it died.
    now = new Date(now.getTime() + minutes(2));
    const next = await runSync(deps());
    expect(next.abandonedRuns).toEqual([recent]);
    now = new Date(now.getTime() + minutes(1));
    const clean = await runSync(deps());
    expect(clean.abandonedRuns).toEqual([]);
    const [last] =
      await db.sql`select errors from public.langfuse_batch_runs where id = ${clean.runId}`;
    expect(last?.errors).toBeNull();
    const [open] =
      await db.sql`select count(*)::int as n from public.langfuse_batch_runs where completed_at is null`;
    expect(open?.n).toBe(0);
  });
});

describe('two runs at once', () => {
  it('send each of 5,000 pending scores exactly once', async () => {
    const user = await insertUser(db.sql);
    await db.sql`
      with traces as (
        insert into public.langfuse_traces (trace_id, entity_type, entity_id, user_id, input, output, metadata, tags)
        select gen_random_uuid(), 'ai_coach_message', gen_random_uuid(), ${user.id}, 'in', 'out', '{"model":"gpt-4o-mini"}', array['ai-coach']
        from generate_series(1, 1250)
        returning trace_id
      )
      insert into public.langfuse_scores (trace_id, score_name, value)
      select trace_id, name, 1 from traces
      cross join unnest(array['user_feedback', 'mission_completed', 'next_day_activity', 'weekly_completion_rate']) as name
    `;
    const [a, b] = await Promise.all([runSync(deps()), runSync(deps())]);
    expect(a.scoresSent + b.scoresSent).toBe(5000);
    expect(a.scoresSent).toBeGreaterThan(0);
    expect(b.scoresSent).toBeGreaterThan(0);
    expect(langfuse.scoreEvents).toHaveLength(5000);
    expect(langfuse.invalid).toEqual([]);
    expect(deliveriesById().size).toBe(5000);
    expect(a.tracesExported + b.tracesExported).toBe(1250);
    expect(langfuse.spans.size).toBe(1250);
    const [left] =
      await db.sql`select count(*)::int as n from public.langfuse_scores where status <> 'sent'`;
    expect(left?.n).toBe(0);
  });
});

describe('the langfuse-sync function', () => {
  it('needs a secret API key and answers the run summary', async () => {
    const keys = await createKeys();
    const handler = createSyncHandler({
      auth: createAuthenticator(authEnvFrom(platformEnv(keys, 'http://x', 'unused'))),
      log: () => {},
      sync: deps(),
    });
    const url = 'http://127.0.0.1/functions/v1/langfuse-sync';
    expect((await handler(new Request(url, { method: 'POST' }))).status).toBe(401);
    expect(
      (
        await handler(
          new Request(url, { method: 'POST', headers: { apikey: keys.publishableKey } }),
        )
      ).status,
    ).toBe(401);
    const ok = await handler(
      new Request(url, { method: 'POST', headers: { apikey: keys.secretKey } }),
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ runId: expect.any(String), scoresSent: 0 });
    const unconfigured = createSyncHandler({
      auth: createAuthenticator(authEnvFrom(platformEnv(keys, 'http://x', 'unused'))),
      log: () => {},
      sync: { ...deps({ langfuse: null }), langfuse: null },
    });
    const withoutKeys = await unconfigured(
      new Request(url, { method: 'POST', headers: { apikey: keys.secretKey } }),
    );
    expect(withoutKeys.status).toBe(200);
    expect(await withoutKeys.json()).toMatchObject({ langfuse: 'not configured', scoresSent: 0 });
  });
});
