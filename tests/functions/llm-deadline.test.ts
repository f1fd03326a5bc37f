/**
 * Our LLM retries and the call's deadline, through the real handler, the
 * official SDKs and the mock LLM over HTTP, in both wire formats. Times are
 * measured with wide margins: the machine is slow and noisy.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { createLlmProvider } from '../../supabase/functions/_shared/llm/provider.ts';
import { coachFixture, parseSse, post } from '../support/coach-fixture.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

type Provider = 'openai' | 'anthropic';

let db: TestDatabase;
let mock: MockLlm;
let user: TestUser;

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  user = await insertUser(db.sql);
});
afterAll(async () => {
  await mock?.stop();
  await db?.drop();
});
beforeEach(() => mock.reset());

/**
 * The ai-coach handler with LLM_MAX_RETRIES=2 unless `env` says otherwise.
 * `random` pins the backoff's jitter where a test's timing depends on it.
 */
async function coach(
  options: { env?: Record<string, string>; provider?: Provider; random?: () => number } = {},
) {
  const fx = await coachFixture({
    sql: db.sql,
    mock,
    provider: options.provider ?? 'openai',
    env: { LLM_MAX_RETRIES: '2', RATE_LIMIT_AI_COACH: '1000/60s', ...options.env },
  });
  const { random } = options;
  if (random && fx.deps.config.llm) fx.deps.llm = createLlmProvider(fx.deps.config.llm, { random });
  const token = await fx.token(user.id);
  const handler = fx.handler(aiCoach);
  return {
    fx,
    /** Sends one message; the answer and how long it took. */
    async send(body: { message: string; stream?: boolean }, init: { signal?: AbortSignal } = {}) {
      const started = performance.now();
      const request = post('ai-coach', body, token);
      const res = await handler(init.signal ? new Request(request, init) : request);
      const text = await res.text();
      return { res, text, elapsedMs: performance.now() - started };
    },
  };
}

/** What the mock was asked with this message: one entry per attempt. */
const requestsFor = (message: string) =>
  mock.requests.filter((request) => JSON.stringify(request.body).includes(message));

async function traceOf(fx: { settle(): Promise<void> }, message: string) {
  await fx.settle();
  const [trace] = await db.sql`
    select output, metadata from public.langfuse_traces where input like ${`%${message}%`}
  `;
  return trace;
}

describe('one deadline for the whole call', () => {
  it('answers 504 at LLM_DEADLINE_MS when the LLM hangs, retries included', async () => {
    // Jitter pinned to its shortest: the retry after the first 1 s timeout starts
    // at about 1.375 s, so the deadline, not the attempt, ends the call.
    const { fx, send } = await coach({
      env: { LLM_DEADLINE_MS: '1500', LLM_TIMEOUT_MS: '1000' },
      random: () => 0.999,
    });
    mock.behavior.hang = true;
    const { res, text, elapsedMs } = await send({ message: 'hang on deadline' });
    expect(res.status).toBe(504);
    expect(JSON.parse(text).error.code).toBe('upstream_timeout');
    expect(elapsedMs).toBeGreaterThanOrEqual(1400);
    expect(elapsedMs).toBeLessThan(2300);
    expect(requestsFor('hang on deadline')).toHaveLength(2);
    const trace = await traceOf(fx, 'hang on deadline');
    expect(trace?.metadata).toMatchObject({ status: 'error', error: { kind: 'timeout' } });
    expect(trace?.metadata.error.message).toContain('(2 attempts)');
    expect(trace?.metadata.latency_ms).toBeGreaterThanOrEqual(1400);
  });

  it('ends a stream still running at the deadline as a timeout, not as a client abort', async () => {
    const { fx, send } = await coach({ env: { LLM_DEADLINE_MS: '1000' } });
    mock.behavior.chunkDelayMs = 100; // about 30 chunks: 3 s
    const { text, elapsedMs } = await send({ message: 'slow stream', stream: true });
    const events = parseSse(text);
    expect(events.filter((event) => event.event === 'delta').length).toBeGreaterThan(2);
    expect(events.at(-1)).toEqual({
      event: 'error',
      data: { error: { code: 'upstream_timeout', message: expect.any(String) } },
    });
    expect(elapsedMs).toBeGreaterThanOrEqual(900);
    expect(elapsedMs).toBeLessThan(2000);
    expect(requestsFor('slow stream')).toHaveLength(1);
    const trace = await traceOf(fx, 'slow stream');
    expect(trace?.metadata).toMatchObject({
      status: 'error',
      stream: true,
      stream_status: null,
      error: { kind: 'timeout' },
    });
    expect(trace?.output.length).toBeGreaterThan(0);
  });

  it('honours retry-after-ms, and answers 503 with it rounded up when it passes the deadline', async () => {
    const { send } = await coach({ env: { LLM_DEADLINE_MS: '1000' } });
    mock.behavior.failure = { status: 503, times: 1, retryAfterMs: 300 };
    const quick = await send({ message: 'wait 300 ms' });
    expect(quick.res.status).toBe(200);
    expect(quick.elapsedMs).toBeGreaterThanOrEqual(280);
    expect(requestsFor('wait 300 ms')).toHaveLength(2);

    mock.behavior.failure = { status: 503, retryAfterMs: 1500 };
    const late = await send({ message: 'wait 1500 ms' });
    expect(late.res.status).toBe(503);
    expect(late.res.headers.get('retry-after')).toBe('2');
    expect(late.elapsedMs).toBeLessThan(1000);
    expect(requestsFor('wait 1500 ms')).toHaveLength(1);
  });

  it('stops at once, with no further attempt, when the client goes away during a backoff', async () => {
    const { fx, send } = await coach();
    mock.behavior.failure = { status: 500 };
    const client = new AbortController();
    setTimeout(() => client.abort(), 200); // the first backoff is 375 to 500 ms
    const { elapsedMs } = await send({ message: 'gone during backoff' }, { signal: client.signal });
    expect(elapsedMs).toBeLessThan(1000); // without the abort: 0.5 s + 1 s of backoff
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(requestsFor('gone during backoff')).toHaveLength(1);
    const trace = await traceOf(fx, 'gone during backoff');
    expect(trace?.metadata).toMatchObject({ status: 'error', error: { kind: 'aborted' } });
  });
});

describe.each<Provider>(['openai', 'anthropic'])('retries over the %s wire format', (provider) => {
  it('answers 200 after two 500s, on the third request', async () => {
    const { send } = await coach({ provider });
    mock.behavior.failure = { status: 500, times: 2 };
    const { res, elapsedMs } = await send({ message: `${provider} 500 twice` });
    expect(res.status).toBe(200);
    expect(requestsFor(`${provider} 500 twice`)).toHaveLength(3);
    // Backoff 0.5 s then 1 s, each minus up to 25%.
    expect(elapsedMs).toBeGreaterThanOrEqual(1000);
  });

  it("retries 529 too (Anthropic's overloaded)", async () => {
    const { send } = await coach({ provider });
    mock.behavior.failure = { status: 529, times: 1 };
    const { res } = await send({ message: `${provider} overloaded` });
    expect(res.status).toBe(200);
    expect(requestsFor(`${provider} overloaded`)).toHaveLength(2);
  });

  it('waits for a Retry-After that ends before the deadline, then succeeds', async () => {
    const { send } = await coach({ provider });
    mock.behavior.failure = { status: 429, times: 1, retryAfterSeconds: 1 };
    const { res, elapsedMs } = await send({ message: `${provider} retry after 1` });
    expect(res.status).toBe(200);
    expect(elapsedMs).toBeGreaterThanOrEqual(950);
    expect(requestsFor(`${provider} retry after 1`)).toHaveLength(2);
  });

  it('answers 503 with Retry-After at once when the Retry-After passes the deadline', async () => {
    const { fx, send } = await coach({ provider });
    mock.behavior.failure = { status: 429, retryAfterSeconds: 30 };
    const { res, text, elapsedMs } = await send({ message: `${provider} retry after 30` });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(JSON.parse(text)).toEqual({
      error: {
        code: 'service_unavailable',
        message: expect.any(String),
        details: { upstreamStatus: 429, retryAfterSeconds: 30 },
      },
    });
    expect(elapsedMs).toBeLessThan(1000);
    expect(requestsFor(`${provider} retry after 30`)).toHaveLength(1);
    const trace = await traceOf(fx, `${provider} retry after 30`);
    expect(trace?.metadata).toMatchObject({
      status: 'error',
      error: { kind: 'unavailable', status: 429 },
    });
  });

  it('answers 502 after 1 + LLM_MAX_RETRIES requests when every one fails', async () => {
    const { fx, send } = await coach({ provider });
    mock.behavior.failure = { status: 503 };
    const { res, text } = await send({ message: `${provider} always 503` });
    expect(res.status).toBe(502);
    expect(JSON.parse(text).error).toMatchObject({
      code: 'upstream_error',
      details: { upstreamStatus: 503 },
    });
    expect(requestsFor(`${provider} always 503`)).toHaveLength(3);
    const trace = await traceOf(fx, `${provider} always 503`);
    expect(trace?.metadata.error).toMatchObject({ kind: 'upstream', status: 503 });
    expect(trace?.metadata.error.message).toContain('(3 attempts)');
  });

  it('retries a stream that fails before its first chunk', async () => {
    const { fx, send } = await coach({ provider });
    mock.behavior.failure = { status: 500, times: 1 };
    const { text } = await send({ message: `${provider} stream 500 first`, stream: true });
    const events = parseSse(text);
    expect(events.at(-1)?.event).toBe('done');
    expect(events.filter((event) => event.event === 'error')).toHaveLength(0);
    expect(requestsFor(`${provider} stream 500 first`)).toHaveLength(2);
    const trace = await traceOf(fx, `${provider} stream 500 first`);
    expect(trace?.metadata).toMatchObject({ status: 'success', stream_status: 'completed' });
  });

  it('does not retry a stream that breaks once text was sent', async () => {
    const { fx, send } = await coach({ provider });
    mock.behavior.dropStreamAfterChunks = 5;
    const { text } = await send({ message: `${provider} stream drops`, stream: true });
    const events = parseSse(text);
    expect(events.filter((event) => event.event === 'delta').length).toBeGreaterThan(0);
    expect(events.at(-1)).toEqual({
      event: 'error',
      data: { error: { code: 'upstream_error', message: expect.any(String) } },
    });
    expect(requestsFor(`${provider} stream drops`)).toHaveLength(1);
    const trace = await traceOf(fx, `${provider} stream drops`);
    expect(trace?.metadata).toMatchObject({ status: 'error', stream: true });
    expect(trace?.output.length).toBeGreaterThan(0);
  });
});
