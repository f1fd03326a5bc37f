/** The local Langfuse double itself: auth, OTLP in both encodings, and its schema check. */
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import { buildSpans } from '../../supabase/functions/_shared/langfuse/traces.ts';

let langfuse: LangfuseServer;
const auth = () =>
  `Basic ${Buffer.from(`${langfuse.publicKey}:${langfuse.secretKey}`).toString('base64')}`;
const traceId = '0b7e2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b';

beforeAll(async () => {
  langfuse = await startLangfuseServer();
});
afterAll(() => langfuse?.stop());

function spans() {
  return buildSpans(
    [
      {
        trace_id: traceId,
        entity_type: 'ai_coach_message',
        entity_id: crypto.randomUUID(),
        user_id: crypto.randomUUID(),
        input: 'in',
        output: 'out',
        metadata: {
          model: 'gpt-4o-mini',
          latency_ms: 120,
          input_tokens: 10,
          output_tokens: 5,
          total_tokens: 15,
          cost_usd: 0.000004,
        },
        tags: ['ai-coach'],
        created_at: new Date(),
        export_attempts: 0,
      },
    ],
    'test',
  );
}

describe('local Langfuse server', () => {
  it('refuses wrong credentials', async () => {
    const res = await fetch(`${langfuse.url}/api/public/ingestion`, {
      method: 'POST',
      body: '{"batch":[]}',
    });
    expect(res.status).toBe(401);
  });

  it('reads OTLP as JSON and as protobuf to the same spans', async () => {
    for (const [contentType, body] of [
      ['application/json', JsonTraceSerializer.serializeRequest(spans())],
      ['application/x-protobuf', ProtobufTraceSerializer.serializeRequest(spans())],
    ] as const) {
      langfuse.reset();
      const res = await fetch(`${langfuse.url}/api/public/otel/v1/traces`, {
        method: 'POST',
        headers: { authorization: auth(), 'content-type': contentType },
        body: body as Uint8Array<ArrayBuffer>,
      });
      expect(res.status).toBe(200);
      const received = langfuse.spans.get(traceId) ?? [];
      expect(received.map((s) => s.name).sort()).toEqual(['ai-coach', 'llm']);
      expect(received.find((s) => s.name === 'llm')?.attributes).toMatchObject({
        'langfuse.observation.usage_details': '{"input":10,"output":5,"total":15}',
        'langfuse.observation.cost_details': '{"total":0.000004}',
      });
    }
  });

  it('answers a 207 with a result per event, refusing events the OpenAPI spec refuses', async () => {
    langfuse.reset();
    const event = {
      type: 'score-create',
      id: 'e1',
      timestamp: new Date().toISOString(),
      body: { id: 's1', name: 'x', value: 1 },
    };
    const res = await fetch(`${langfuse.url}/api/public/ingestion`, {
      method: 'POST',
      headers: { authorization: auth(), 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          event,
          { ...event, id: 'e2', body: { id: 's2' } },
          { ...event, id: 'e3', type: 'nonsense' },
        ],
      }),
    });
    expect(res.status).toBe(207);
    const result = (await res.json()) as {
      successes: { id: string }[];
      errors: { id: string; status: number }[];
    };
    expect(result.successes.map((s) => s.id)).toEqual(['e1']);
    expect(result.errors.map((e) => [e.id, e.status])).toEqual([
      ['e2', 400],
      ['e3', 400],
    ]);
    expect(langfuse.invalid).toHaveLength(2);
  });
});

describe('the vendored OpenAPI spec', () => {
  it('is the same as the shared copy, where that is present', async () => {
    const { existsSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { projectRoot } = await import('../../scripts/lib/project.ts');
    const { LANGFUSE_OPENAPI_FILE } = await import('../../local/langfuse/server.ts');
    const shared = join(projectRoot, '..', 'shared', 'langfuse', 'openapi.yml');
    const vendored = readFileSync(LANGFUSE_OPENAPI_FILE, 'utf8');
    expect(vendored).toContain('IngestionEvent');
    if (existsSync(shared)) expect(vendored).toBe(readFileSync(shared, 'utf8'));
  });
});
