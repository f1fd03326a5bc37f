/**
 * End to end, the real client path: the functions served by Deno (the same
 * server `npm start` runs), called through supabase-js `functions.invoke`
 * with a minted user token, on a real database and the mock LLM over HTTP.
 */
import { existsSync, readdirSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { createClient, FunctionsHttpError, type SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../../local/free-port.ts';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import {
  type FunctionsServer,
  startFunctionsServer,
} from '../../local/tooling/functions-server.ts';
import {
  createKeys,
  type LocalKeys,
  platformEnv,
  signUserToken,
} from '../../local/tooling/keys.ts';
import { projectRoot } from '../../local/tooling/project.ts';
import { langfuseTraceId } from '../../supabase/functions/_shared/langfuse/trace-id.ts';
import { get } from '../local/langfuse-http.ts';
import { parseSse } from '../support/coach-fixture.ts';
import { insertUser, type TestUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { badTokens } from '../support/tokens.ts';
import { waitFor } from '../support/wait.ts';

let db: TestDatabase;
let mock: MockLlm;
let langfuse: LangfuseServer;
let keys: LocalKeys;
let server: FunctionsServer;
let user: TestUser;
let token: string;
let supabase: SupabaseClient;
const serverLog: string[] = [];

interface ObservationV2 {
  id: string;
  traceId: string;
  type: string;
  name: string;
  parentObservationId: string | null;
  traceName: string;
  userId: string;
  sessionId: string;
  environment: string;
  release: string;
  version: string;
  tags: string[];
  input: unknown;
  output: unknown;
  metadata: unknown;
  model: string;
  modelParameters: Record<string, unknown>;
  usageDetails: Record<string, number>;
  startTime: string;
  endTime: string | null;
  completionStartTime: string | null;
  level: string;
  statusMessage: string | null;
  costDetails: Record<string, number>;
}

const ALL_FIELDS = 'core,basic,time,io,metadata,model,usage,prompt,metrics,trace_context';

/** A trace's observations as Langfuse v4 shows them (GET /api/public/v2/observations). */
async function observationsOf(traceId: string): Promise<ObservationV2[]> {
  const query = new URLSearchParams({ traceId: langfuseTraceId(traceId), fields: ALL_FIELDS });
  const reply = await get<{ data: ObservationV2[] }>(
    langfuse,
    `/api/public/v2/observations?${query}`,
  );
  expect(reply.status).toBe(200);
  return reply.body.data;
}

/** A trace's scores as Langfuse v4 shows them (GET /api/public/v3/scores). */
async function scoresOf(traceId: string): Promise<unknown[]> {
  const query = new URLSearchParams({
    traceId: langfuseTraceId(traceId),
    fields: 'details,subject',
  });
  const reply = await get<{ data: unknown[] }>(langfuse, `/api/public/v3/scores?${query}`);
  expect(reply.status).toBe(200);
  return reply.body.data;
}

function clientFor(accessToken: string): SupabaseClient {
  return createClient(server.url, keys.publishableKey, {
    accessToken: async () => accessToken,
    // supabase-js needs a WebSocket for realtime; Node 20 has no global one.
    realtime: { transport: WebSocket as never },
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockLlm();
  langfuse = await startLangfuseServer();
  keys = await createKeys();
  const port = await freePort();
  server = await startFunctionsServer({
    port,
    env: {
      ...platformEnv(keys, `http://127.0.0.1:${port}`, db.url),
      LLM_PROVIDER: 'openai',
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      LLM_MAX_RETRIES: '0',
      RATE_LIMIT_REFLECTION: '5/60s',
      LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
      LANGFUSE_SECRET_KEY: langfuse.secretKey,
      LANGFUSE_BASE_URL: langfuse.url,
      APP_ENVIRONMENT: 'e2e',
      APP_RELEASE: 'e2e-release',
      BODY_READ_TIMEOUT_MS: '1000',
    },
    onLog: (line) => serverLog.push(line),
  });
  user = await insertUser(db.sql);
  token = await signUserToken(keys, {
    sub: user.id,
    email: user.email,
    issuer: `${server.url}/auth/v1`,
  });
  supabase = clientFor(token);
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await mock?.stop();
  await langfuse?.stop();
  await db?.drop();
});
beforeEach(() => mock.reset());

describe('the local functions stack', () => {
  it('serves every function and the JWKS', async () => {
    const onDisk = readdirSync(join(projectRoot, 'supabase', 'functions')).filter(
      (name) =>
        !name.startsWith('_') &&
        existsSync(join(projectRoot, 'supabase', 'functions', name, 'index.ts')),
    );
    expect(server.functions).toEqual(onDisk.sort());
    const jwks = (await (await fetch(`${server.url}/auth/v1/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys[0]?.kid).toBe(keys.privateJwk.kid);
    const missing = await fetch(`${server.url}/functions/v1/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('answers ai-coach through supabase-js and records the trace with tokens, cost and latency', async () => {
    const { data, error } = await supabase.functions.invoke('ai-coach', {
      body: { message: 'Help me sleep earlier' },
    });
    expect(error).toBeNull();
    expect(data).toEqual({
      reply: expect.stringContaining('Help me sleep earlier'),
      messageId: expect.any(String),
      conversationId: expect.any(String),
      traceId: expect.any(String),
      usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) },
      stored: true,
    });
    const trace = await waitFor(async () => {
      const [row] = await db.sql`
        select t.metadata, m.langfuse_trace_id from public.langfuse_traces t
        join public.ai_coach_messages m on m.langfuse_trace_id = t.trace_id
        where t.trace_id = ${data.traceId}
      `;
      return row;
    });
    expect(trace.metadata).toMatchObject({
      provider: 'openai',
      input_tokens: data.usage.inputTokens,
      output_tokens: data.usage.outputTokens,
      usage_source: 'provider',
      status: 'success',
    });
    expect(trace.metadata.cost_usd).toBeGreaterThan(0);
    expect(trace.metadata.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('runs the other coach endpoints', async () => {
    for (const [name, body, idField] of [
      ['encouragement', {}, 'encouragementId'],
      ['reflection', { body: 'Today I kept my promise.' }, 'reflectionId'],
      ['daily-status', { mood: 5, mission: 'Stretch', missionCompleted: true }, 'dailyStatusId'],
    ] as const) {
      const { data, error } = await supabase.functions.invoke(name, { body });
      expect(error, name).toBeNull();
      expect(data[idField], name).toEqual(expect.any(String));
    }
  });

  it('refuses bad tokens with 401 JSON', async () => {
    for (const [name, bad] of Object.entries(
      await badTokens(keys, user.id, `${server.url}/auth/v1`),
    )) {
      const { error } = await clientFor(bad).functions.invoke('ai-coach', {
        body: { message: 'hi' },
      });
      expect(error, name).toBeInstanceOf(FunctionsHttpError);
      const response = (error as FunctionsHttpError).context as Response;
      expect({ name, status: response.status }).toEqual({ name, status: 401 });
      expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    expect(mock.requests).toHaveLength(0);
  });

  it('lets exactly the limit through out of 50 parallel requests', async () => {
    const someone = await insertUser(db.sql);
    const client = clientFor(
      await signUserToken(keys, { sub: someone.id, issuer: `${server.url}/auth/v1` }),
    );
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.functions.invoke('reflection', { body: { body: `r${i}` } }),
      ),
    );
    const statuses = results.map((result) =>
      result.error ? ((result.error as FunctionsHttpError).context as Response).status : 200,
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(45);
    const limited = results.find((result) => result.error)?.error as FunctionsHttpError;
    const response = limited.context as Response;
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(response.headers.get('ratelimit-policy')).toBe('"reflection";q=5;w=60');
    expect(mock.requests).toHaveLength(5);
  });

  it('streams Server-Sent Events', async () => {
    const res = await fetch(`${server.url}/functions/v1/ai-coach`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'stream through deno', stream: true }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await res.text());
    expect(events.filter((e) => e.event === 'delta').length).toBeGreaterThan(3);
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { traceId: expect.any(String) } });
  });

  it('records a stream the client aborts, flagged aborted', async () => {
    mock.behavior.chunkDelayMs = 50;
    const abort = new AbortController();
    const res = await fetch(`${server.url}/functions/v1/ai-coach`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'abort me through deno', stream: true }),
      signal: abort.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    abort.abort();
    const trace = await waitFor(async () => {
      const [row] = await db.sql`
        select metadata from public.langfuse_traces where input like '%abort me through deno%'
      `;
      return row;
    });
    expect(trace.metadata).toMatchObject({ stream: true, stream_status: 'aborted' });
  });

  it('cuts a body that trickles in with 408, and takes a client leaving mid-upload quietly', async () => {
    const { port } = new URL(server.url);
    /** A raw HTTP/1.1 upload that sends `sent` of its body and then waits or leaves. */
    const upload = (sent: string, leaveAfterMs: number | null) =>
      new Promise<string>((resolve) => {
        const socket = tcpConnect(Number(port), '127.0.0.1', () => {
          socket.write(
            `POST /functions/v1/ai-coach HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\n` +
              `content-type: application/json\r\ncontent-length: 100\r\n\r\n${sent}`,
          );
          if (leaveAfterMs !== null) setTimeout(() => socket.destroy(), leaveAfterMs);
        });
        let answer = '';
        socket.on('data', (chunk) => {
          answer += chunk.toString();
          // The answer is one small JSON error: done once its last brace is in.
          if (answer.trimEnd().endsWith('}}')) socket.destroy();
        });
        socket.on('close', () => resolve(answer));
        socket.on('error', () => resolve(answer));
        setTimeout(() => socket.destroy(), 5000);
      });
    const started = performance.now();
    const slow = await upload('{"message":', null);
    expect(slow).toMatch(/^HTTP\/1\.1 408/);
    expect(slow).toContain('request_timeout');
    expect(performance.now() - started).toBeLessThan(4000);

    const logged = serverLog.length;
    await upload('{"message":', 200);
    await waitFor(async () =>
      serverLog.slice(logged).some((line) => line.includes('client closed the request'))
        ? true
        : undefined,
    );
    expect(serverLog.slice(logged).filter((line) => line.includes('"level":"error"'))).toEqual([]);
    expect(mock.requests).toHaveLength(0);
  });

  it('reports health without a token', async () => {
    const res = await fetch(`${server.url}/functions/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', db: 'ok' });
  });

  it('shows in Langfuse what a Langfuse user looks for: the trace, its generation, its score, its session', async () => {
    const { data: turn } = await supabase.functions.invoke('ai-coach', {
      body: { message: 'Sync me' },
    });
    const { data: feedback, error } = await supabase.functions.invoke('feedback', {
      body: { traceId: turn.traceId, value: 1, comment: 'Useful' },
    });
    expect(error).toBeNull();
    expect(feedback).toMatchObject({ traceId: turn.traceId, status: 'pending' });
    const { data: second } = await supabase.functions.invoke('ai-coach', {
      body: { message: 'And tomorrow?', conversationId: turn.conversationId },
    });
    const streamed = await fetch(`${server.url}/functions/v1/ai-coach`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'stream for langfuse', stream: true }),
    });
    const streamedTraceId = parseSse(await streamed.text()).at(-1)?.data.traceId as string;
    mock.behavior.failure = { status: 500 };
    const failed = await supabase.functions.invoke('reflection', { body: { body: 'fail me' } });
    expect(failed.error).toBeInstanceOf(FunctionsHttpError);
    mock.reset();
    const failedTraceId = await waitFor(async () => {
      const [row] =
        await db.sql`select trace_id from public.langfuse_traces where input like '%fail me%'`;
      return row?.trace_id as string | undefined;
    });

    const sync = await fetch(`${server.url}/functions/v1/langfuse-sync`, {
      method: 'POST',
      headers: { apikey: keys.secretKey, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(sync.status).toBe(200);
    const summary = (await sync.json()) as { scoresSent: number; runId: string };
    expect(summary.scoresSent).toBeGreaterThanOrEqual(1);
    expect(langfuse.invalid).toEqual([]);
    expect(langfuse.orphanedScores()).toEqual([]);
    expect(langfuse.dropped).toEqual([]);

    // Read back as a Langfuse v4 user reads it: the Observations API v2, the Scores API v3.
    const observations = await observationsOf(turn.traceId);
    expect(observations.map((o) => o.type).sort()).toEqual(['GENERATION', 'SPAN']);
    for (const observation of observations) {
      expect(observation).toMatchObject({
        traceId: langfuseTraceId(turn.traceId),
        traceName: 'ai-coach',
        userId: user.id,
        sessionId: turn.conversationId,
        environment: 'e2e',
        release: 'e2e-release',
        version: expect.stringMatching(/^prompt-[0-9a-f]{8}$/),
        tags: expect.arrayContaining(['ai-coach', 'openai']),
      });
    }
    const root = observations.find((o) => o.parentObservationId === null);
    expect(root).toMatchObject({ type: 'SPAN', name: 'ai-coach', output: turn.reply });
    expect(JSON.stringify(root?.input)).toContain('Sync me');
    expect(JSON.stringify(root?.metadata)).toContain(turn.messageId);
    const generation = observations.find((o) => o.type === 'GENERATION');
    const [stored] =
      await db.sql`select model from public.langfuse_traces where trace_id = ${turn.traceId}`;
    expect(stored?.model).toEqual(expect.any(String));
    expect(generation).toMatchObject({
      name: 'llm',
      parentObservationId: root?.id,
      model: stored?.model,
      modelParameters: expect.objectContaining({ max_tokens: expect.anything() }),
      usageDetails: {
        input: turn.usage.inputTokens,
        output: turn.usage.outputTokens,
        total: turn.usage.inputTokens + turn.usage.outputTokens,
      },
      costDetails: { total: expect.any(Number) },
      level: 'DEFAULT',
    });
    expect(generation?.costDetails.total).toBeGreaterThan(0);
    expect(Date.parse(generation?.endTime as string)).toBeGreaterThanOrEqual(
      Date.parse(generation?.startTime as string),
    );
    expect(await scoresOf(turn.traceId)).toEqual([
      expect.objectContaining({
        id: feedback.scoreId,
        subject: expect.objectContaining({ kind: 'trace', id: langfuseTraceId(turn.traceId) }),
        name: 'user_feedback',
        value: true,
        comment: 'Useful',
        dataType: 'BOOLEAN',
        environment: 'e2e',
      }),
    ]);

    const next = await observationsOf(second.traceId);
    expect(next.every((o) => o.sessionId === turn.conversationId)).toBe(true);

    const stream = await observationsOf(streamedTraceId);
    const streamGeneration = stream.find((o) => o.type === 'GENERATION');
    expect(Date.parse(streamGeneration?.completionStartTime as string)).toBeGreaterThanOrEqual(
      Date.parse(streamGeneration?.startTime as string),
    );
    expect(streamGeneration?.tags).toContain('stream');

    const failure = await observationsOf(failedTraceId);
    expect(failure.find((o) => o.type === 'GENERATION')).toMatchObject({
      level: 'ERROR',
      statusMessage: expect.stringContaining('500'),
    });

    // The conversation, as a session: every observation of its two turns.
    const session = await get<{ data: ObservationV2[] }>(
      langfuse,
      `/api/public/v2/observations?${new URLSearchParams({ sessionId: turn.conversationId, fields: 'core' })}`,
    );
    expect([...new Set(session.body.data.map((o) => o.traceId))].sort()).toEqual(
      [langfuseTraceId(turn.traceId), langfuseTraceId(second.traceId)].sort(),
    );
    expect(langfuse.legacyExports).toEqual([]);
    expect(langfuse.invalidResponses).toEqual([]);

    const anonymous = await fetch(`${server.url}/functions/v1/langfuse-sync`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
  });
});
