/**
 * The local Langfuse double itself: auth, OTLP in both encodings, its schema
 * check, the faults tests inject, and the benchmark's volume taken whole.
 * (What it stores and shows is tested under tests/local/.)
 */
import { context, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import {
  authHeader,
  call,
  event,
  exportSpans,
  generationTrace,
  ingest,
  recordSpans,
} from './langfuse-http.ts';

let langfuse: LangfuseServer;

beforeAll(async () => {
  langfuse = await startLangfuseServer({ version: 'v3' });
});
afterAll(() => langfuse?.stop());
beforeEach(() => langfuse.reset());

const score = (id: string, traceId = '0b7e2a3c1d2e4f508a9b0c1d2e3f4a5b') =>
  event({ type: 'score-create', body: { id, traceId, name: 'x', value: 1 } });

describe('local Langfuse server', () => {
  it('refuses wrong credentials', async () => {
    const res = await fetch(`${langfuse.url}/api/public/ingestion`, {
      method: 'POST',
      body: '{"batch":[]}',
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: 'UnauthorizedError',
      message: 'No authorization header',
    });
    const wrong = await fetch(`${langfuse.url}/api/public/traces/x`, {
      headers: { authorization: `Basic ${Buffer.from('pk:nope').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    expect((await call(langfuse, '/api/public/ingestion')).status).toBe(405);
    expect((await call(langfuse, '/api/public/nothing')).status).toBe(404);
  });

  it('reads OTLP as JSON and as protobuf to the same spans, keyed by 32-hex trace id', async () => {
    const spans = generationTrace({
      generation: {
        'langfuse.observation.usage_details': '{"input":10,"output":5,"total":15}',
        'langfuse.observation.cost_details': '{"total":0.000004}',
        'langfuse.trace.tags': ['ai-coach'],
      },
    });
    const traceId = spans[0]?.spanContext().traceId as string;
    for (const encoding of ['json', 'protobuf'] as const) {
      langfuse.reset();
      expect((await exportSpans(langfuse, spans, encoding)).status).toBe(200);
      expect([...langfuse.spans.keys()]).toEqual([traceId]);
      const received = langfuse.spans.get(traceId) ?? [];
      expect(received.map((s) => s.name).sort()).toEqual(['llm', 'turn']);
      expect(received.find((s) => s.name === 'llm')?.attributes).toMatchObject({
        'langfuse.observation.usage_details': '{"input":10,"output":5,"total":15}',
        'langfuse.observation.cost_details': '{"total":0.000004}',
        'langfuse.trace.tags': ['ai-coach'],
      });
      expect(langfuse.trace(traceId)).toMatchObject({ id: traceId, totalCost: 0.000004 });
    }
  });

  it('answers a 207 with a result per event, refusing what the OpenAPI spec refuses', async () => {
    const valid = score('s1');
    const { status, body } = await ingest(langfuse, [
      valid,
      { ...valid, id: 'e2', body: { id: 's2' } },
      { ...valid, id: 'e3', type: 'nonsense' },
    ]);
    expect(status).toBe(207);
    expect(body.successes.map((s) => s.id)).toEqual([valid.id]);
    expect(body.errors.map((e) => [e.id, e.status])).toEqual([
      ['e2', 400],
      ['e3', 400],
    ]);
    expect(langfuse.invalid.map((i) => i.rule)).toEqual(['openapi', 'openapi']);
    expect([...langfuse.scores.keys()]).toEqual(['s1']);
  });

  it('shows what it received on /_local/received', async () => {
    const spans = generationTrace();
    await exportSpans(langfuse, spans);
    await ingest(langfuse, [score('s1')]);
    const res = await fetch(`${langfuse.url}/_local/received`);
    const traceId = spans[0]?.spanContext().traceId as string;
    expect(await res.json()).toMatchObject({
      scores: { s1: { id: 's1', name: 'x' } },
      traces: { [traceId]: ['llm', 'turn'] },
      traceIds: [traceId],
      orphanedScores: [{ id: 's1', traceId: '0b7e2a3c1d2e4f508a9b0c1d2e3f4a5b' }],
      invalid: [],
      dropped: [],
    });
  });
});

describe('injected faults', () => {
  it('answers whole requests with a status, on chosen endpoints, while `times` lasts', async () => {
    langfuse.faults.status = { code: 429, retryAfterSeconds: 7, paths: ['ingestion'], times: 1 };
    const limited = await fetch(`${langfuse.url}/api/public/ingestion`, {
      method: 'POST',
      headers: { authorization: authHeader(langfuse), 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [score('s1')] }),
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await exportSpans(langfuse, generationTrace())).status).toBe(200);
    expect((await ingest(langfuse, [score('s1')])).status).toBe(207);
    langfuse.faults.status = { code: 503, paths: ['scores'] };
    expect((await call(langfuse, '/api/public/scores/s1', { method: 'DELETE' })).status).toBe(503);
    expect(langfuse.requests.map((r) => r.status)).toEqual([429, 200, 207, 503]);
  });

  it('fails chosen events inside a 207, `times` times', async () => {
    langfuse.faults.eventErrors.set('s1', { status: 500, message: 'boom', times: 1 });
    const first = await ingest(langfuse, [score('s1'), score('s2')]);
    expect(first.body.errors).toEqual([{ id: expect.any(String), status: 500, message: 'boom' }]);
    expect([...langfuse.scores.keys()]).toEqual(['s2']);
    const second = await ingest(langfuse, [score('s1')]);
    expect(second.body.errors).toEqual([]);
  });

  it('drops connections, and a delayed request crossing reset() never lands', async () => {
    langfuse.faults.drop = { times: 1 };
    await expect(ingest(langfuse, [score('s1')])).rejects.toThrow();
    langfuse.faults.delayMs = 300;
    const late = ingest(langfuse, [score('late')]).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    langfuse.reset();
    expect(await late).toBeInstanceOf(Error);
    expect(langfuse.scores.size).toBe(0);
    expect(langfuse.store.scoreRecords()).toEqual([]);
  });
});

describe('at the benchmark volume', () => {
  it('takes 10,000 scores (100 per request) and 2,500 traces, each once', async () => {
    const exports = Array.from({ length: 25 }, () =>
      recordSpans((tracer) => {
        for (let i = 0; i < 100; i += 1) {
          const root = tracer.startSpan('turn', { attributes: { 'user.id': `u${i}` } });
          tracer
            .startSpan(
              'llm',
              {
                attributes: {
                  'langfuse.observation.type': 'generation',
                  'langfuse.observation.usage_details': '{"input":10,"output":5}',
                },
              },
              trace.setSpan(context.active(), root),
            )
            .end();
          root.end();
        }
      }),
    );
    const traceIds = exports.flatMap((spans) =>
      spans.filter((s) => s.name === 'turn').map((s) => s.spanContext().traceId),
    );
    const batches = Array.from({ length: 100 }, (_, b) =>
      Array.from({ length: 100 }, (_, i) => score(`b${b}-${i}`, traceIds[(b * 100 + i) % 2500])),
    );
    await Promise.all(exports.map((spans) => exportSpans(langfuse, spans)));
    const replies = await Promise.all(batches.map((batch) => ingest(langfuse, batch)));
    const stored = langfuse.store.scoreRecords(); // waits for the merges still queued
    expect(replies.every((r) => r.status === 207 && r.body.errors.length === 0)).toBe(true);
    expect(stored).toHaveLength(10_000);
    expect(langfuse.store.traces.size).toBe(2_500);
    expect(langfuse.orphanedScores()).toEqual([]);
  });
});

describe('the vendored OpenAPI spec', () => {
  // Its provenance (repository, commit, path) is in vendor/README.md.
  it("is Langfuse's public API spec, with the paths the local server serves", async () => {
    const { readFileSync } = await import('node:fs');
    const { LANGFUSE_OPENAPI_FILE } = await import('../../local/langfuse/server.ts');
    const vendored = readFileSync(LANGFUSE_OPENAPI_FILE, 'utf8');
    expect(vendored).toMatch(/^openapi: /m);
    expect(vendored).toContain('IngestionEvent:');
    for (const path of [
      '/api/public/ingestion',
      '/api/public/otel/v1/traces',
      '/api/public/scores',
      '/api/public/v2/observations',
      '/api/public/v3/scores',
    ]) {
      expect(vendored).toContain(`\n  ${path}:\n`);
    }
  });
});
