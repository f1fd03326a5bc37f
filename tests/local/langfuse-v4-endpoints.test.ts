/**
 * The local server in its default mode, Langfuse v4 (Cloud since
 * 2026-11-16), at its edges, over HTTP: the legacy reads are gone (404
 * before authentication, with `_deprecation`), /ingestion takes scores only,
 * an OTLP export without the v4 header is accepted but listed as a delayed
 * legacy export, and the injected faults work as in v3 mode.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import { call, event, exportSpans, type IngestionReply, ingest } from './langfuse-http.ts';
import { coachTurn, idOf, observations as observationsOf, V4 } from './langfuse-v4-fixture.ts';

let langfuse: LangfuseServer;
beforeAll(async () => {
  langfuse = await startLangfuseServer();
});
afterAll(() => langfuse?.stop());
beforeEach(() => langfuse.reset());
afterEach(() => expect(langfuse.invalidResponses).toEqual([]));

const observations = (query: string) => observationsOf(langfuse, query);

describe('legacy (v3) reads on a v4 server (createAuthedProjectAPIRoute rejectInEventsOnlyMode)', () => {
  const notAvailable =
    'This endpoint is not available on deployments running in Langfuse v4 events_only mode. Learn more about Langfuse v4 at: https://langfuse.com/docs/v4';

  it.each([
    ['/api/public/traces', 'GET /api/public/v2/observations?fromStartTime=<from>&toStartTime=<to>'],
    [
      '/api/public/traces/abc',
      'GET /api/public/v2/observations?fromStartTime=<from>&toStartTime=<to>',
    ],
    [
      '/api/public/observations',
      'GET /api/public/v2/observations?fromStartTime=<from>&toStartTime=<to>',
    ],
    [
      '/api/public/observations/o1',
      'GET /api/public/v2/observations?fromStartTime=<from>&toStartTime=<to>',
    ],
    [
      '/api/public/sessions/s1',
      'GET /api/public/v2/observations?filter=<urlencoded sessionId filter>&fromStartTime=<from>&toStartTime=<to>',
    ],
    ['/api/public/scores', 'GET /api/public/v3/scores'],
    ['/api/public/scores/s1', 'GET /api/public/v3/scores'],
    ['/api/public/v2/scores', 'GET /api/public/v3/scores'],
    ['/api/public/v2/scores/s1', 'GET /api/public/v3/scores'],
    ['/api/public/metrics', 'GET /api/public/v2/metrics?query=<urlencoded json query>'],
  ])('GET %s answers 404 with its deprecation notice', async (path, replacement) => {
    const { status, body } = await call(langfuse, path);
    expect(status).toBe(404);
    expect(body).toEqual({
      message: notAvailable,
      _deprecation: {
        message: expect.stringContaining('will be removed on November 16, 2026.'),
        replacement,
        docsUrl: expect.stringMatching(/^https:\/\/langfuse\.com\/docs\//),
        sunsetAt: '2026-11-16',
      },
    });
  });

  it('refuses before it authenticates, and keeps DELETE /api/public/scores/{id}', async () => {
    const anonymous = await fetch(`${langfuse.url}/api/public/traces/abc`);
    expect(anonymous.status).toBe(404);
    expect(((await anonymous.json()) as { message: string }).message).toBe(notAvailable);
    expect(await call(langfuse, '/api/public/traces', { method: 'POST', body: '{}' })).toEqual({
      status: 404,
      body: { message: notAvailable },
    });
    expect((await call(langfuse, '/api/public/scores/s1', { method: 'DELETE' })).status).toBe(202);
  });
});

describe('POST /api/public/ingestion in events_only mode (ingestion.ts filterBatchForEventsOnly)', () => {
  it('processes score-create and sdk-log, refuses every other event with its own 400', async () => {
    const trace = event({ type: 'trace-create', body: { id: 't1', name: 'turn' } });
    const span = event({ type: 'span-create', body: { id: 'o1', traceId: 't1' } });
    const score = event({
      type: 'score-create',
      body: { id: 's1', traceId: 't1', name: 'n', value: 1 },
    });
    const log = event({ type: 'sdk-log', body: { log: 'hello' } });
    const { status, body }: IngestionReply = await ingest(langfuse, [trace, span, score, log, 42]);
    expect(status).toBe(207);
    expect(body.successes).toEqual([{ id: score.id, status: 201 }]);
    const refusal = (type: string) =>
      `Event type "${type}" is not accepted by /api/public/ingestion when LANGFUSE_MIGRATION_V4_WRITE_MODE is events_only. This endpoint only accepts score and log events. Upgrade the client or integration to a v4-compatible SDK or OTLP ingestion path. As a temporary migration bridge, set LANGFUSE_MIGRATION_V4_WRITE_MODE=dual on both the web and worker services and redeploy. Docs: https://langfuse.com/self-hosting/upgrade/upgrade-guides/upgrade-v3-to-v4`;
    expect(body.errors).toEqual([
      {
        id: trace.id,
        status: 400,
        message: 'Event type not accepted',
        error: refusal('trace-create'),
      },
      {
        id: span.id,
        status: 400,
        message: 'Event type not accepted',
        error: refusal('span-create'),
      },
      { id: 'unknown', status: 400, message: 'Event type not accepted', error: refusal('unknown') },
    ]);
    expect((await observations('')).data).toEqual([]);
    expect(langfuse.v4.scores().map((s) => s.id)).toEqual(['s1']);
  });

  it('lists a refused score of the batch before the events-only refusals', async () => {
    const bad = event({ type: 'score-create', body: { id: 's2', name: 'n', value: 1 } });
    const trace = event({ type: 'trace-create', body: { id: 't1' } });
    const { body } = await ingest(langfuse, [trace, bad]);
    expect(body.errors.map((e) => [e.id, e.message])).toEqual([
      [bad.id, 'Invalid request data'],
      [trace.id, 'Event type not accepted'],
    ]);
  });
});

describe('OTel without the v4 header: the legacy dual-write path, delayed', () => {
  it.each([
    ['no header', {}],
    ['version 3', { 'x-langfuse-ingestion-version': '3' }],
  ])(
    'accepts the export (%s) but lists it as a legacy export, not as observations',
    async (_, headers) => {
      const spans = coachTurn();
      expect((await exportSpans(langfuse, spans, 'protobuf', headers)).status).toBe(200);
      expect((await observations(`traceId=${idOf(spans)}`)).data).toEqual([]);
      const legacy = {
        receivedAt: expect.any(String),
        ingestionVersion: (headers as Record<string, string>)['x-langfuse-ingestion-version'] ?? '',
        sdkName: '',
        sdkVersion: '',
        traceIds: [idOf(spans)],
        spanCount: 2,
      };
      expect(langfuse.legacyExports).toEqual([legacy]);
      const received = (await call(langfuse, '/_local/received')).body;
      expect(received).toMatchObject({
        version: 'v4',
        legacyExports: [legacy],
        observationCount: 0,
        traces: { [idOf(spans)]: ['llm', 'turn'] },
      });
    },
  );
});

describe('injected faults work in v4 mode as in v3', () => {
  it('a status fault, a per-event error and the hook before the answer', async () => {
    langfuse.faults.status = { code: 503, times: 1, paths: ['otel'] };
    const spans = coachTurn();
    expect((await exportSpans(langfuse, spans, 'protobuf', V4)).status).toBe(503);
    expect((await observations(`traceId=${idOf(spans)}`)).data).toEqual([]);

    langfuse.faults.eventErrors.set('s1', { status: 500, message: 'boom', times: 1 });
    const sent = event({
      type: 'score-create',
      body: { id: 's1', traceId: 't', name: 'n', value: 1 },
    });
    const { body } = await ingest(langfuse, [sent]);
    expect(body).toEqual({
      successes: [],
      errors: [{ id: sent.id, status: 500, message: 'boom' }],
    });

    let storedBeforeAnswer = 0;
    langfuse.faults.beforeAnswer = async () => {
      storedBeforeAnswer = langfuse.v4.observations.length;
    };
    expect((await exportSpans(langfuse, spans, 'protobuf', V4)).status).toBe(200);
    expect(storedBeforeAnswer).toBe(2);
  });
});
