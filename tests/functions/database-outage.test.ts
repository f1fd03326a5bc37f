/**
 * Postgres stopped or frozen under the functions, on a server of this file's
 * own (a real Postgres 17 process, halted and SIGSTOPped): every wait ends by
 * the deadline with a clear 503, the pool recovers by itself, and a reply the
 * LLM was paid for is answered anyway and stored once the database is back,
 * exactly once, or logged whole.
 */
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { createMigratedDatabase } from '../../local/postgres/migrated-database.ts';
import {
  type ClusterControl,
  startTestCluster,
  type TestCluster,
} from '../../local/postgres/throwaway-cluster.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { reflection } from '../../supabase/functions/_shared/coach/kinds/reflection.ts';
import { createDatabase } from '../../supabase/functions/_shared/db/client.ts';
import { createHealthHandler } from '../../supabase/functions/_shared/health.ts';
import { type CoachFixture, coachFixture, post } from '../support/coach-fixture.ts';
import { insertUser } from '../support/rows.ts';
import { waitFor } from '../support/wait.ts';

const BOUND_MS = 1000;
/** What a slow, shared machine adds to a bound: scheduling, a TCP round trip, JSON. */
const SLACK_MS = 800;

let cluster: TestCluster;
let control: ClusterControl;
let admin: Sql;
let sql: Sql;
let mock: MockLlm;
let fx: CoachFixture;
let token: string;
let userId: string;

beforeAll(async () => {
  cluster = await startTestCluster({});
  control = cluster.control as ClusterControl;
  const url = await createMigratedDatabase(cluster, 'outage');
  admin = postgres(url, { max: 2, onnotice: () => {} });
  // The pool exactly as the functions make it.
  sql = createDatabase(url, { max: 4, timeoutMs: BOUND_MS });
  mock = await startMockLlm();
  fx = await coachFixture({
    sql,
    mock,
    env: { DB_TIMEOUT_MS: String(BOUND_MS), STORE_RETRY_BUDGET_MS: '30000', LLM_MAX_RETRIES: '0' },
  });
  userId = (await insertUser(admin)).id;
  token = await fx.token(userId);
}, 180_000);
afterAll(async () => {
  await control?.resume();
  await sql?.end({ timeout: 1 });
  await admin?.end({ timeout: 1 });
  await mock?.stop();
  await cluster?.stop();
});
beforeEach(() => mock.reset());

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

const ask = (message: string) => fx.handler(aiCoach)(post('ai-coach', { message }, token));
const health = () =>
  createHealthHandler({ ...fx.deps })(new Request('http://127.0.0.1/functions/v1/health'));

/** Until the functions answer 200 again: how long recovery took. */
async function recovered(): Promise<number> {
  const started = performance.now();
  await waitFor(
    async () => ((await ask('are you back?')).status === 200 ? true : undefined),
    10_000,
  );
  return performance.now() - started;
}

describe.sequential('Postgres down', () => {
  it('stopped: 503 with Retry-After within the bound, db: error, and recovery by itself', async () => {
    await control.halt();
    try {
      for (const message of ['one', 'two', 'three']) {
        const { value: res, ms } = await timed(ask(message));
        expect({ status: res.status, fast: ms < BOUND_MS + SLACK_MS }).toEqual({
          status: 503,
          fast: true,
        });
        expect(res.headers.get('retry-after')).toBeTruthy();
        expect(await res.json()).toMatchObject({ error: { code: 'service_unavailable' } });
      }
      const { value: probe, ms } = await timed(health());
      expect(await probe.json()).toMatchObject({ db: 'error' });
      expect(ms).toBeLessThan(BOUND_MS + SLACK_MS);
      expect(mock.requests).toHaveLength(0);
    } finally {
      await control.start();
    }
    expect(await recovered()).toBeLessThan(5000);
    expect(await (await health()).json()).toMatchObject({ db: 'ok' });
  });

  it('frozen: 503 within the bound for requests in parallel, and recovery after', async () => {
    await control.pause();
    try {
      const answers = await Promise.all(
        ['a', 'b', 'c', 'd', 'e', 'f'].map((m) => timed(ask(`frozen ${m}`))),
      );
      for (const { value: res, ms } of answers) {
        expect({ status: res.status, fast: ms < BOUND_MS + SLACK_MS }).toEqual({
          status: 503,
          fast: true,
        });
      }
      const { value: probe, ms } = await timed(health());
      expect(await probe.json()).toMatchObject({ db: 'error' });
      expect(ms).toBeLessThan(BOUND_MS + SLACK_MS);
      expect(mock.requests).toHaveLength(0);
    } finally {
      await control.resume();
    }
    expect(await recovered()).toBeLessThan(5000);
  });
});

describe.sequential('a reply the LLM was paid for', () => {
  /** Starts a call, and breaks the database once the LLM is working on it. */
  async function answeredDuringOutage(message: string, outage: () => Promise<void>) {
    mock.behavior.latencyMs = 1200;
    const pending = timed(ask(message));
    await waitFor(async () => (mock.requests.length > 0 ? true : undefined), 5000);
    await outage();
    const { value: res, ms } = await pending;
    const body = (await res.json()) as {
      reply: string;
      messageId: string;
      traceId: string;
      stored: boolean;
    };
    return { status: res.status, ms, body };
  }

  async function storedRows(messageId: string, traceId: string) {
    const [row] = await admin<{ replies: number; traces: number; turns: number }[]>`
      select
        (select count(*)::int from public.ai_coach_messages where id = ${messageId}) as replies,
        (select count(*)::int from public.langfuse_traces where trace_id = ${traceId}) as traces,
        (select count(*)::int from public.ai_coach_messages m
          join public.ai_coach_messages r on r.conversation_id = m.conversation_id
          where r.id = ${messageId} and m.role = 'user') as turns
    `;
    return row;
  }

  it('is answered when Postgres stops before it is stored, and stored once it is back', async () => {
    const { status, ms, body } = await answeredDuringOutage('paid while stopped', () =>
      control.halt(),
    );
    try {
      expect({ status, stored: body.stored }).toEqual({ status: 200, stored: false });
      expect(body.reply).toContain('paid while stopped');
      expect(ms).toBeLessThan(1200 + BOUND_MS + SLACK_MS);
    } finally {
      await control.start();
    }
    await fx.settle();
    expect(await storedRows(body.messageId, body.traceId)).toEqual({
      replies: 1,
      traces: 1,
      turns: 1,
    });
  });

  it('is stored exactly once when Postgres was frozen mid-write and its own commit lands late', async () => {
    const { status, body } = await answeredDuringOutage('paid while frozen', () => control.pause());
    try {
      expect({ status, stored: body.stored }).toEqual({ status: 200, stored: false });
    } finally {
      await control.resume();
    }
    await fx.settle();
    expect(await storedRows(body.messageId, body.traceId)).toEqual({
      replies: 1,
      traces: 1,
      turns: 1,
    });
    expect(fx.logs.filter((entry) => entry.msg === 'call not recorded')).toEqual([]);
  });

  it('leaves its complete record in the log when Postgres stays away past the budget', async () => {
    const brief = await coachFixture({
      sql,
      mock,
      env: { DB_TIMEOUT_MS: String(BOUND_MS), STORE_RETRY_BUDGET_MS: '1500', LLM_MAX_RETRIES: '0' },
    });
    mock.behavior.latencyMs = 1200;
    const pending = brief.handler(reflection)(
      post('reflection', { body: 'logged, not lost' }, await brief.token(userId)),
    );
    await waitFor(async () => (mock.requests.length > 0 ? true : undefined), 5000);
    await control.halt();
    try {
      const res = await pending;
      const body = (await res.json()) as {
        reply: string;
        traceId: string;
        reflectionId: string;
        stored: boolean;
      };
      expect({ status: res.status, stored: body.stored }).toEqual({ status: 200, stored: false });
      await brief.settle();
      const line = brief.logs.find((entry) => entry.msg === 'call not recorded');
      expect(line).toMatchObject({
        level: 'error',
        traceId: body.traceId,
        record: {
          endpoint: 'reflection',
          store: {
            entityId: body.reflectionId,
            userId,
            body: { body: 'logged, not lost' },
            reply: body.reply,
          },
          trace: { traceId: body.traceId, output: body.reply, entityType: 'reflection' },
        },
      });
      // One line of JSON as the logger writes it: times as ISO strings, nothing lost.
      const written = JSON.parse(JSON.stringify(line)) as {
        record: { store: { receivedAt: string } };
      };
      expect(Date.parse(written.record.store.receivedAt)).toBeGreaterThan(0);
    } finally {
      await control.start();
    }
  });

  it('keeps a failed call traced through an outage too', async () => {
    mock.behavior.latencyMs = 800;
    mock.behavior.failure = { status: 500 };
    const pending = ask('failing while stopped');
    await waitFor(async () => (mock.requests.length > 0 ? true : undefined), 5000);
    await control.halt();
    try {
      expect((await pending).status).toBe(502);
    } finally {
      await control.start();
    }
    await fx.settle();
    const [trace] = await admin`
      select status, error from public.langfuse_traces where input like '%failing while stopped%'
    `;
    expect(trace).toMatchObject({ status: 'error', error: expect.stringContaining('500') });
  });
});
