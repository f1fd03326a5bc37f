/**
 * Langfuse v4's direct OTel write read back through GET
 * /api/public/v2/observations, over HTTP as a Langfuse user sees it: one
 * observation per span from that span's own attributes, no deduplication,
 * field groups, paging and filters, metadata truncation. Every 200 GET is
 * checked against the spec (ObservationsV2Response).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import { call, exportSpans, generationTrace, recordSpans } from './langfuse-http.ts';
import {
  coachTurn,
  idOf,
  observations as observationsOf,
  spanIds,
  traceContext,
  V4,
} from './langfuse-v4-fixture.ts';

let langfuse: LangfuseServer;
beforeAll(async () => {
  langfuse = await startLangfuseServer();
});
afterAll(() => langfuse?.stop());
beforeEach(() => langfuse.reset());
afterEach(() => expect(langfuse.invalidResponses).toEqual([]));

const observations = (query: string) => observationsOf(langfuse, query);

describe('OTel with x-langfuse-ingestion-version: 4 (direct write, GET /api/public/v2/observations)', () => {
  it('shows root and generation, each with its own trace context, and the root input/output', async () => {
    const spans = coachTurn();
    expect((await exportSpans(langfuse, spans, 'protobuf', V4)).status).toBe(200);
    const ids = spanIds(spans);
    const fields = 'core,basic,io,metadata,model,usage,trace_context';
    const { data, meta } = await observations(`traceId=${idOf(spans)}&fields=${fields}`);
    expect(meta).toEqual({});
    const context = {
      traceId: idOf(spans),
      projectId: 'local-project',
      environment: 'production',
      version: 'v1',
      userId: 'user-1',
      sessionId: 'conversation-1',
      traceName: 'ai-coach',
      tags: ['coach', 'openai'],
      release: 'r1',
      metadata: expect.objectContaining({ entity_id: 'e-1', 'scope.name': 'langfuse-sdk' }),
    };
    // Newest start time first: the generation starts 100 ms after the root.
    expect(data).toEqual([
      expect.objectContaining({
        ...context,
        id: ids.llm,
        parentObservationId: ids.turn,
        isRootObservation: false,
        type: 'GENERATION',
        name: 'llm',
        model: 'gpt-4o-mini',
        usageDetails: { input: 10, output: 5, total: 15 },
        input: '[{"role":"user","content":"hi"}]',
        output: 'Hello!',
        latency: 1.5,
      }),
      expect.objectContaining({
        ...context,
        id: ids.turn,
        parentObservationId: null,
        isRootObservation: true,
        type: 'SPAN',
        name: 'turn',
        // Stored strings, never parsed on this endpoint.
        input: '{"message":"hi"}',
        output: 'Hello!',
        startTime: '2025-06-01T10:00:00.000Z',
        endTime: '2025-06-01T10:00:01.700Z',
        latency: 1.7,
      }),
    ]);
  });

  it('takes nothing from the root: a child without trace attributes has none', async () => {
    const spans = generationTrace({ root: traceContext });
    await exportSpans(langfuse, spans, 'json', V4);
    const { data } = await observations(`traceId=${idOf(spans)}&fields=basic,trace_context`);
    expect(data[0]).toMatchObject({
      name: 'llm',
      userId: '',
      sessionId: '',
      environment: 'default',
      version: '',
      statusMessage: '',
      traceName: null,
      release: '',
      tags: [],
    });
    // The root without langfuse.trace.name would show its own name as trace name.
    expect(data[1]).toMatchObject({ name: 'turn', traceName: 'ai-coach', userId: 'user-1' });
  });

  it('stores a span exported twice twice (no deduplication in v4)', async () => {
    const spans = coachTurn();
    await exportSpans(langfuse, spans, 'protobuf', V4);
    await exportSpans(langfuse, spans, 'protobuf', V4);
    const { data } = await observations(`traceId=${idOf(spans)}`);
    const ids = spanIds(spans);
    expect(data.map((o) => o.id)).toEqual([ids.llm, ids.llm, ids.turn, ids.turn]);
    expect(langfuse.spans.get(idOf(spans))).toHaveLength(4);
  });

  it('takes the direct path for a Langfuse SDK new enough, by its own headers', async () => {
    const spans = coachTurn();
    const sdk = { 'x-langfuse-sdk-name': 'javascript', 'x-langfuse-sdk-version': '5.0.0-rc.1' };
    await exportSpans(langfuse, spans, 'protobuf', sdk);
    expect((await observations(`traceId=${idOf(spans)}`)).data).toHaveLength(2);
    expect(langfuse.legacyExports).toEqual([]);
  });

  it('answers the field groups asked for, core always (fields, default core,basic)', async () => {
    const spans = coachTurn();
    await exportSpans(langfuse, spans, 'protobuf', V4);
    const always = [
      'latency',
      'timeToFirstToken',
      'modelId',
      'inputPrice',
      'outputPrice',
      'totalPrice',
    ];
    const core = [
      'id',
      'traceId',
      'startTime',
      'endTime',
      'projectId',
      'parentObservationId',
      'type',
    ];
    const keys = async (query: string) => Object.keys((await observations(query)).data[0] ?? {});
    expect(await keys('fields=core')).toEqual([...core, ...always]);
    expect(await keys('fields=nonsense')).toEqual([...core, ...always]);
    expect(await keys('')).toEqual([
      ...core,
      ...['name', 'level', 'statusMessage', 'version', 'environment'],
      'latency',
      'timeToFirstToken',
      ...['userId', 'sessionId', 'isRootObservation', 'bookmarked', 'public'],
      ...always.slice(2),
    ]);
    expect(await keys('fields=trace_context')).toEqual(
      expect.arrayContaining(['traceName', 'tags', 'release']),
    );
  });

  it('pages with limit and cursor, newest first', async () => {
    const spans = coachTurn();
    await exportSpans(langfuse, spans, 'protobuf', V4);
    const first = await observations('limit=1&fields=core');
    expect(first.data.map((o) => o.id)).toEqual([spanIds(spans).llm]);
    expect(first.meta.cursor).toEqual(expect.any(String));
    const second = await observations(`limit=1&fields=core&cursor=${first.meta.cursor}`);
    expect(second.data.map((o) => o.id)).toEqual([spanIds(spans).turn]);
    expect(second.meta).toEqual({});
  });

  it('filters by trace, user, session, type, name, environment and root', async () => {
    const coach = coachTurn();
    const other = generationTrace();
    await exportSpans(langfuse, [...coach, ...other], 'protobuf', V4);
    const ids = async (query: string) => (await observations(query)).data.map((o) => o.id);
    const { llm, turn } = spanIds(coach);
    expect(await ids(`traceId=${idOf(other)}`)).toHaveLength(2);
    expect(await ids('userId=user-1')).toEqual([llm, turn]);
    expect(await ids('sessionId=conversation-1&type=GENERATION')).toEqual([llm]);
    expect(await ids('name=turn&environment=production')).toEqual([turn]);
    expect(await ids('environment=default')).toHaveLength(2);
    expect(await ids('isRootObservation=true&userId=user-1')).toEqual([turn]);
  });

  it('cuts metadata values to 200 characters unless io or expandMetadata is asked for', async () => {
    const long = 'x'.repeat(300);
    const spans = recordSpans((tracer) => {
      tracer.startSpan('s', { attributes: { 'langfuse.observation.metadata.long': long } }).end();
    });
    await exportSpans(langfuse, spans, 'protobuf', V4);
    const metadataLong = async (query: string) => {
      const [row] = (await observations(query)).data;
      return (row?.metadata as Record<string, string> | undefined)?.long;
    };
    expect(await metadataLong('fields=metadata')).toBe(long.slice(0, 200));
    expect(await metadataLong('fields=metadata,io')).toBe(long);
    expect(await metadataLong('fields=metadata&expandMetadata=long')).toBe(long);
  });

  it('refuses bad parameters as Langfuse does', async () => {
    const bad = async (query: string) => call(langfuse, `/api/public/v2/observations?${query}`);
    expect(await bad('cursor=not-a-cursor')).toEqual({
      status: 400,
      body: { message: 'Invalid cursor format', error: 'InvalidRequestError' },
    });
    expect(await bad('parseIoAsJson=true')).toMatchObject({
      status: 400,
      body: { message: 'Invalid request data' },
    });
    expect((await bad('type=span')).status).toBe(400);
    expect((await bad('limit=1001')).status).toBe(400);
  });
});
