/**
 * Traces over POST /api/public/otel/v1/traces, read back as a Langfuse user
 * does: GET /api/public/traces/{id} (TraceWithFullDetails) and
 * GET /api/public/sessions/{id}, with Langfuse's derived fields (latency,
 * totalCost, usage totals, time to first token) and its endpoint rules
 * (web/src/pages/api/public/otel/v1/traces/index.ts). Every 200 GET is
 * checked against the spec.
 */
import { gzipSync } from 'node:zlib';
import { context, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import {
  call,
  event,
  exportSpans,
  generationTrace,
  get,
  ingest,
  recordSpans,
} from './langfuse-http.ts';

let langfuse: LangfuseServer;
beforeAll(async () => {
  langfuse = await startLangfuseServer({ version: 'v3' });
});
afterAll(() => langfuse?.stop());
beforeEach(() => langfuse.reset());
afterEach(() => expect(langfuse.invalidResponses).toEqual([]));

type View = Record<string, unknown> & {
  observations: Record<string, unknown>[];
  scores: unknown[];
};
const traceView = async (id: string) =>
  (await get<View>(langfuse, `/api/public/traces/${id}`, 'TraceWithFullDetails')).body;
const idOf = (spans: ReturnType<typeof generationTrace>) =>
  spans[0]?.spanContext().traceId as string;
const otlpPost = (body: Buffer | string, headers: Record<string, string>) =>
  call(langfuse, '/api/public/otel/v1/traces', {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });

describe('a generation trace, as Langfuse shows it', () => {
  it('maps the Langfuse SDK attributes onto the trace and its generation', async () => {
    const spans = generationTrace({
      root: {
        'langfuse.trace.name': 'ai-coach',
        'user.id': 'user-1',
        'session.id': 'conversation-1',
        'langfuse.environment': 'Production',
        'langfuse.release': 'r1',
        'langfuse.version': 'v1',
        'langfuse.trace.tags': ['coach', 'openai'],
        'langfuse.trace.input': '{"message":"hi"}',
        'langfuse.trace.output': 'Hello!',
        'langfuse.trace.metadata.entity_id': 'e-1',
        'langfuse.trace.metadata.count': '5',
      },
      generation: {
        'langfuse.observation.model.name': 'gpt-4o-mini',
        'langfuse.observation.model.parameters': '{"max_tokens":600,"temperature":0.2}',
        'langfuse.observation.usage_details': '{"input":10,"output":5}',
        'langfuse.observation.cost_details': '{"input":0.000001,"output":0.000002}',
        'langfuse.observation.completion_start_time': '2025-06-01T10:00:00.350Z',
      },
    });
    // Langfuse answers an accepted export with its queued job (Job.toJSON), no partialSuccess.
    const accepted = (await exportSpans(langfuse, spans)).body as Record<string, unknown>;
    expect(accepted).toMatchObject({
      name: 'otel-ingestion-job',
      id: expect.any(String),
      opts: { attempts: 6, backoff: { type: 'exponential', delay: 5000 } },
    });
    expect(accepted).not.toHaveProperty('partialSuccess');
    const view = await traceView(idOf(spans));
    expect(view).toMatchObject({
      id: idOf(spans),
      name: 'ai-coach',
      userId: 'user-1',
      sessionId: 'conversation-1',
      environment: 'production',
      release: 'r1',
      version: 'v1',
      tags: ['coach', 'openai'],
      input: { message: 'hi' },
      output: 'Hello!',
      // Stored metadata values are JSON-parsed on the way out: "5" reads back as 5.
      metadata: expect.objectContaining({ entity_id: 'e-1', count: 5 }),
      timestamp: '2025-06-01T10:00:00.000Z',
      htmlPath: `/project/local-project/traces/${idOf(spans)}`,
      latency: 1.7,
      totalCost: 0.000003,
    });
    const generation = view.observations.find((o) => o.type === 'GENERATION');
    expect(generation).toMatchObject({
      name: 'llm',
      environment: 'default', // the generation span itself carried no environment
      model: 'gpt-4o-mini',
      modelParameters: { max_tokens: 600, temperature: 0.2 },
      usageDetails: { input: 10, output: 5, total: 15 },
      costDetails: { input: 0.000001, output: 0.000002, total: 0.000003 },
      calculatedTotalCost: 0.000003,
      usage: { unit: 'TOKENS', input: 10, output: 5, total: 15 },
      latency: 1.5,
      timeToFirstToken: 0.25,
      completionStartTime: '2025-06-01T10:00:00.350Z',
      parentObservationId: spans.find((s) => s.name === 'turn')?.spanContext().spanId,
    });
  });

  it('computes no cost total when cost keys other than input/output are sent', async () => {
    const spans = generationTrace({
      generation: { 'langfuse.observation.cost_details': '{"input":0.1,"cache_read":0.01}' },
    });
    await exportSpans(langfuse, spans);
    const view = await traceView(idOf(spans));
    const generation = view.observations.find((o) => o.type === 'GENERATION');
    expect(generation).toMatchObject({
      costDetails: { input: 0.1, cache_read: 0.01 },
      calculatedTotalCost: 0,
    });
    expect(view.totalCost).toBe(0);
  });

  it('drops a generation that breaks a Langfuse rule (prompt name without version)', async () => {
    const spans = generationTrace({ generation: { 'langfuse.observation.prompt.name': 'p' } });
    await exportSpans(langfuse, spans);
    expect((await traceView(idOf(spans))).observations.map((o) => o.type)).toEqual(['SPAN']);
    expect(langfuse.dropped).toEqual([
      {
        entity: 'observation',
        id: expect.any(String),
        reason: expect.stringContaining('promptName'),
      },
    ]);
  });

  it('marks a span with status code 2 as ERROR with its status message', async () => {
    const spans = recordSpans((tracer) => {
      const span = tracer.startSpan('failing');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream 500' });
      span.end();
    });
    await exportSpans(langfuse, spans);
    const [observation] = (await traceView(idOf(spans))).observations;
    expect(observation).toMatchObject({ level: 'ERROR', statusMessage: 'upstream 500' });
  });

  it('lists scores of the trace, except those more than an hour older than the trace', async () => {
    const spans = generationTrace();
    await exportSpans(langfuse, spans);
    const traceId = idOf(spans);
    await ingest(langfuse, [
      event({ type: 'score-create', body: { id: 'fresh', traceId, name: 'n', value: 1 } }),
      event({
        type: 'score-create',
        timestamp: '2025-06-01T08:59:59.000Z',
        body: { id: 'old', traceId, name: 'n', value: 1 },
      }),
    ]);
    expect((await traceView(traceId)).scores).toEqual([expect.objectContaining({ id: 'fresh' })]);
  });

  it('merges trace updates of later exports: tags unioned, release, public reset', async () => {
    const first = generationTrace({
      root: {
        'langfuse.trace.tags': ['b'],
        'langfuse.release': 'r1',
        'langfuse.trace.public': true,
      },
    });
    await exportSpans(langfuse, first);
    expect(await traceView(idOf(first))).toMatchObject({ release: 'r1', public: true });
    // A later export: one more child of the same trace, carrying trace tags.
    const parent = trace.setSpanContext(context.active(), {
      traceId: idOf(first),
      spanId: 'aaaaaaaaaaaaaaaa',
      traceFlags: TraceFlags.SAMPLED,
    });
    const later = recordSpans((tracer) => {
      tracer
        .startSpan('late child', { attributes: { 'langfuse.trace.tags': ['c', 'a'] } }, parent)
        .end();
    });
    await exportSpans(langfuse, later);
    // Its trace update carries no release and no `public`: null and false overwrite.
    expect(await traceView(idOf(first))).toMatchObject({
      tags: ['a', 'b', 'c'],
      timestamp: '2025-06-01T10:00:00.000Z',
      release: null,
      public: false,
    });
  });

  it('shows the session of a trace', async () => {
    const spans = generationTrace({
      root: { 'session.id': 'conv-9', 'langfuse.environment': 'e2e' },
    });
    await exportSpans(langfuse, spans);
    const session = await get<{ traces: { id: string }[] }>(
      langfuse,
      '/api/public/sessions/conv-9',
      'SessionWithTraces',
    );
    expect(session.body).toMatchObject({
      id: 'conv-9',
      environment: 'e2e',
      projectId: 'local-project',
    });
    expect(session.body.traces.map((t) => t.id)).toEqual([idOf(spans)]);
    expect((await get(langfuse, '/api/public/sessions/nope')).status).toBe(404);
  });

  it('answers 404 in Langfuse error shape for an unknown trace', async () => {
    expect(await get(langfuse, '/api/public/traces/0123')).toEqual({
      status: 404,
      body: {
        message: 'Trace 0123 not found within authorized project',
        error: 'LangfuseNotFoundError',
      },
    });
  });
});

describe('trace ids and the OTel endpoint (otel/v1/traces/index.ts, parseId)', () => {
  it('stores one trace from JSON and from protobuf, under the 32-hex OTel trace id', async () => {
    const spans = generationTrace({
      generation: { 'langfuse.observation.usage_details': '{"input":3}' },
    });
    const strip = (v: View): View => ({
      ...v,
      createdAt: 0,
      updatedAt: 0,
      observations: v.observations.map((o) => ({ ...o, createdAt: 0, updatedAt: 0 })),
    });
    await exportSpans(langfuse, spans, 'json');
    const fromJson = strip(await traceView(idOf(spans)));
    langfuse.reset();
    await exportSpans(langfuse, spans, 'protobuf');
    const fromProtobuf = strip(await traceView(idOf(spans)));
    expect(fromProtobuf).toEqual(fromJson);
    expect(fromJson.id).toMatch(/^[0-9a-f]{32}$/);
    expect([...langfuse.spans.keys()]).toEqual([idOf(spans)]);
  });

  it('takes a JSON trace id exactly as sent, so scores must match it exactly', async () => {
    const spans = generationTrace();
    const json = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
    for (const span of json.resourceSpans[0].scopeSpans[0].spans)
      span.traceId = span.traceId.toUpperCase();
    await otlpPost(JSON.stringify(json), { 'content-type': 'application/json' });
    expect((await get(langfuse, `/api/public/traces/${idOf(spans)}`)).status).toBe(404);
    expect((await traceView(idOf(spans).toUpperCase())).id).toBe(idOf(spans).toUpperCase());
  });

  it('reads gzip, and refuses other content types and undecodable bodies', async () => {
    const spans = generationTrace();
    const json = Buffer.from(JsonTraceSerializer.serializeRequest(spans) as Uint8Array);
    const zipped = await otlpPost(gzipSync(json), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(zipped).toMatchObject({ status: 200, body: { name: 'otel-ingestion-job' } });
    expect((await traceView(idOf(spans))).observations).toHaveLength(2);
    expect(await otlpPost(json, { 'content-type': 'text/plain' })).toEqual({
      status: 400,
      body: { error: 'Invalid content type' },
    });
    expect(await otlpPost('{', { 'content-type': 'application/json' })).toEqual({
      status: 400,
      body: { error: 'Failed to parse OTel JSON Trace' },
    });
    expect(
      await otlpPost(json, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
    ).toEqual({
      status: 400,
      body: { error: 'Failed to decompress request body' },
    });
  });

  it('rejects a whole export when one span lacks its ids (e.g. OTLP logs sent here)', async () => {
    const body = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              scope: { name: 'uvicorn.access' },
              spans: [{ traceId: 'ab', spanId: 'cd', name: 'fine' }, { name: 'no ids' }],
            },
          ],
        },
      ],
    };
    const reply = await otlpPost(JSON.stringify(body), { 'content-type': 'application/json' });
    expect(reply.status).toBe(400);
    expect((reply.body as { error: string }).error).toContain(
      '1 of 2 span(s) cannot be processed (traceId:absent, spanId:absent)',
    );
    expect(langfuse.store.traces.size).toBe(0);
    expect(await otlpPost('{"resourceSpans":[]}', { 'content-type': 'application/json' })).toEqual({
      status: 200,
      body: {},
    });
    const version = await exportSpans(langfuse, generationTrace(), 'json', {
      'x-langfuse-ingestion-version': '5',
    });
    expect(version.status).toBe(400);
  });
});
