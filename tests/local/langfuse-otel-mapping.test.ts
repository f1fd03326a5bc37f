/**
 * Langfuse's own OTel mapping cases, ported from
 * web/src/__tests__/server/api/otel/otelMapping.servertest.ts (commit 62751446)
 * with their inputs (protobuf-decoded spans: Buffer ids, Long timestamps) and
 * their expected values, run against the local server's port of
 * OtelIngestionProcessor. Only Langfuse-SDK and vendor-neutral OTel GenAI
 * cases are ported; other vendors' conventions are not modelled.
 */
import { describe, expect, it } from 'vitest';
import {
  otelToIngestionEvents,
  type RawIngestionEvent,
} from '../../local/langfuse/otel-ingestion.ts';
import type { OtlpResourceSpans } from '../../local/langfuse/otlp.ts';

const convert = (resourceSpan: unknown, seen = new Set<string>()) =>
  otelToIngestionEvents([resourceSpan as OtlpResourceSpans], seen);
const ofType = (events: RawIngestionEvent[], type: string) => events.filter((e) => e.type === type);
const str = (stringValue: string) => ({ stringValue });
const buffer = (data: number[]) => ({ type: 'Buffer', data });

const TRACE_BYTES = [44, 206, 24, 247, 232, 205, 6, 90, 11, 78, 99, 78, 239, 114, 131, 145];
const langfuseResource = {
  attributes: [
    { key: 'telemetry.sdk.language', value: str('python') },
    { key: 'telemetry.sdk.name', value: str('opentelemetry') },
    { key: 'telemetry.sdk.version', value: str('1.32.0') },
    { key: 'langfuse.environment', value: str('production') },
    { key: 'langfuse.release', value: str('0.0.1') },
    { key: 'service.name', value: str('unknown_service') },
  ],
};
const langfuseScope = {
  name: 'langfuse-sdk',
  version: '2.60.3',
  attributes: [{ key: 'public_key', value: str('pk-lf-1234567890') }],
};

describe('Langfuse OTEL SDK spans (otelMapping.servertest.ts)', () => {
  it('should convert LF-OTEL spans to LF-events', () => {
    const generation = {
      traceId: buffer(TRACE_BYTES),
      spanId: buffer([87, 240, 37, 84, 23, 151, 65, 189]),
      parentSpanId: buffer([223, 227, 135, 254, 167, 239, 59, 2]),
      name: 'my-generation',
      kind: 1,
      startTimeUnixNano: { low: 466848096, high: 406528574, unsigned: true },
      endTimeUnixNano: { low: 467248096, high: 406528574, unsigned: true },
      attributes: [
        { key: 'langfuse.observation.type', value: str('generation') },
        { key: 'langfuse.observation.level', value: str('WARNING') },
        { key: 'langfuse.observation.status_message', value: str('nothing to report') },
        { key: 'langfuse.observation.input', value: str('[{"role": "user", "content": "hello"}]') },
        {
          key: 'langfuse.observation.output',
          value: str('{"role": "assistant", "content": "what\'s up?"}'),
        },
        { key: 'langfuse.observation.model.name', value: str('gpt-4o') },
        { key: 'langfuse.observation.prompt.name', value: str('my-prompt') },
        {
          key: 'langfuse.observation.prompt.version',
          value: { intValue: { low: 1, high: 0, unsigned: false } },
        },
        {
          key: 'langfuse.observation.usage_details',
          value: str('{"input_tokens": 123, "output_tokens": 456}'),
        },
        {
          key: 'langfuse.observation.cost_details',
          value: str('{"input_tokens": 0.0001, "output_tokens": 0.002}'),
        },
        {
          key: 'langfuse.observation.completion_start_time',
          value: str('"2025-04-30T15:28:50.686390Z"'),
        },
        // Not Langfuse's attribute name (that is ...model.parameters): ignored.
        { key: 'langfuse.observation.model_parameters', value: str('{"temperature": 1}') },
        { key: 'langfuse.observation.metadata.key1', value: str('"value1"') },
        { key: 'langfuse.observation.metadata.key2', value: str('"value2"') },
        { key: 'langfuse.trace.name', value: str('test-trace') },
        { key: 'user.id', value: str('my-user') },
        { key: 'session.id', value: str('my-session') },
        { key: 'langfuse.version', value: str('trace-0.0.1') },
        { key: 'langfuse.trace.input', value: str('[{"role": "user", "content": "hello"}]') },
        {
          key: 'langfuse.trace.output',
          value: str('{"role": "assistant", "content": "what\'s up?"}'),
        },
        { key: 'langfuse.trace.tags', value: { arrayValue: { values: [str('tag2')] } } },
        { key: 'langfuse.trace.public', value: { boolValue: true } },
        { key: 'langfuse.trace.metadata.trace-key1', value: str('"value1"') },
        { key: 'langfuse.trace.metadata.trace-key2', value: str('"value2"') },
      ],
      status: {},
    };
    const span = {
      traceId: buffer(TRACE_BYTES),
      spanId: buffer([223, 227, 135, 254, 167, 239, 59, 2]),
      name: 'my-span',
      kind: 1,
      startTimeUnixNano: { low: 205413096, high: 406528574, unsigned: true },
      endTimeUnixNano: { low: 467608096, high: 406528574, unsigned: true },
      attributes: [
        { key: 'langfuse.observation.type', value: str('span') },
        { key: 'langfuse.trace.tags', value: { arrayValue: { values: [str('tag1')] } } },
        { key: 'langfuse.trace.metadata.trace-key0', value: str('"value1"') },
      ],
      status: {},
    };
    const events = convert({
      resource: langfuseResource,
      scopeSpans: [{ scope: langfuseScope, spans: [generation, span] }],
    });
    expect(events).toHaveLength(4);
    const traces = ofType(events, 'trace-create');
    expect(traces).toHaveLength(2);
    const defaultMetadata = {
      resourceAttributes: {
        'langfuse.environment': 'production',
        'langfuse.release': '0.0.1',
        'service.name': 'unknown_service',
        'telemetry.sdk.language': 'python',
        'telemetry.sdk.name': 'opentelemetry',
        'telemetry.sdk.version': '1.32.0',
      },
      scope: { name: 'langfuse-sdk', version: '2.60.3' },
    };
    expect(ofType(events, 'span-create')[0]?.body).toMatchObject({
      id: 'dfe387fea7ef3b02',
      traceId: '2cce18f7e8cd065a0b4e634eef728391',
      parentObservationId: null,
      name: 'my-span',
      startTime: '2025-04-30T15:28:50.424Z',
      endTime: '2025-04-30T15:28:50.687Z',
      environment: 'production',
      metadata: defaultMetadata,
      level: 'DEFAULT',
      version: null,
      modelParameters: {},
      model: undefined,
      promptName: null,
      promptVersion: null,
      usageDetails: {},
      costDetails: {},
      input: null,
      output: null,
    });
    expect(ofType(events, 'generation-create')[0]?.body).toMatchObject({
      id: '57f02554179741bd',
      traceId: '2cce18f7e8cd065a0b4e634eef728391',
      parentObservationId: 'dfe387fea7ef3b02',
      name: 'my-generation',
      startTime: '2025-04-30T15:28:50.686Z',
      endTime: '2025-04-30T15:28:50.686Z',
      environment: 'production',
      metadata: defaultMetadata,
      level: 'WARNING',
      statusMessage: 'nothing to report',
      version: 'trace-0.0.1',
      modelParameters: {},
      model: 'gpt-4o',
      promptName: 'my-prompt',
      promptVersion: 1,
      usageDetails: { input_tokens: 123, output_tokens: 456 },
      costDetails: { input_tokens: 0.0001, output_tokens: 0.002 },
      input: '[{"role": "user", "content": "hello"}]',
      output: '{"role": "assistant", "content": "what\'s up?"}',
    });
    expect(traces[0]?.body).toMatchObject({
      id: '2cce18f7e8cd065a0b4e634eef728391',
      name: 'test-trace',
      tags: ['tag2'],
      userId: 'my-user',
      sessionId: 'my-session',
      input: '[{"role": "user", "content": "hello"}]',
      output: '{"role": "assistant", "content": "what\'s up?"}',
      version: 'trace-0.0.1',
      environment: 'production',
      public: true,
      metadata: { ...defaultMetadata, 'trace-key1': '"value1"', 'trace-key2': '"value2"' },
    });
    expect(traces[1]?.body).toMatchObject({
      id: '2cce18f7e8cd065a0b4e634eef728391',
      timestamp: '2025-04-30T15:28:50.424Z',
      name: 'my-span',
      metadata: { ...defaultMetadata, 'trace-key0': '"value1"' },
      tags: ['tag1'],
      environment: 'production',
    });
  });

  it('should create a trace when as_root has been specified', () => {
    const events = convert({
      resource: langfuseResource,
      scopeSpans: [
        {
          scope: langfuseScope,
          spans: [
            {
              traceId: buffer([
                149, 243, 185, 38, 199, 208, 9, 146, 91, 203, 93, 188, 39, 49, 17, 32,
              ]),
              spanId: buffer([212, 62, 55, 183, 209, 126, 84, 118]),
              parentSpanId: buffer([131, 78, 40, 181, 145, 127, 190, 246]),
              name: 'my-span-with-custom-trace-id',
              kind: 1,
              startTimeUnixNano: { low: 1047784088, high: 406627672, unsigned: true },
              endTimeUnixNano: { low: 1149405088, high: 406627672, unsigned: true },
              attributes: [
                { key: 'langfuse.observation.type', value: str('span') },
                { key: 'langfuse.internal.as_root', value: { boolValue: true } },
              ],
              status: {},
            },
          ],
        },
      ],
    });
    expect(events).toHaveLength(2);
    expect(ofType(events, 'span-create')[0]?.body).toMatchObject({
      id: 'd43e37b7d17e5476',
      traceId: '95f3b926c7d009925bcb5dbc27311120',
      parentObservationId: '834e28b5917fbef6',
      name: 'my-span-with-custom-trace-id',
      startTime: '2025-05-05T13:42:33.936Z',
      endTime: '2025-05-05T13:42:34.038Z',
      environment: 'production',
      level: 'DEFAULT',
    });
    expect(ofType(events, 'trace-create')[0]?.body).toMatchObject({
      id: '95f3b926c7d009925bcb5dbc27311120',
      timestamp: '2025-05-05T13:42:33.936Z',
      name: 'my-span-with-custom-trace-id',
      environment: 'production',
    });
  });

  it('overrides a python-sdk <= 3.3.0 "span" holding generation attributes', () => {
    const events = convert({
      resource: { attributes: [{ key: 'telemetry.sdk.language', value: str('python') }] },
      scopeSpans: [
        {
          scope: { ...langfuseScope, version: '3.3.0' },
          spans: [
            {
              traceId: { data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] },
              spanId: { data: [1, 2, 3, 4, 5, 6, 7, 8] },
              name: 'unknown-operation',
              startTimeUnixNano: 1000000000,
              endTimeUnixNano: 2000000000,
              attributes: [
                { key: 'langfuse.observation.type', value: str('span') },
                { key: 'langfuse.observation.model.name', value: str('gpt-4o') },
              ],
              status: {},
            },
          ],
        },
      ],
    });
    expect(events.map((e) => e.type).sort()).toEqual(['generation-create', 'trace-create']);
  });

  it('should respect explicit observation types over model heuristics', () => {
    for (const type of ['agent', 'evaluator', 'tool', 'retriever', 'embedding', 'guardrail']) {
      const events = convert({
        resource: { attributes: [] },
        scopeSpans: [
          {
            scope: { name: 'test-scope' },
            spans: [
              {
                traceId: { data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] },
                spanId: { data: [1, 2, 3, 4, 5, 6, 7, 8] },
                name: `test-${type}`,
                startTimeUnixNano: 1000000000,
                endTimeUnixNano: 2000000000,
                attributes: [
                  { key: 'langfuse.observation.type', value: str(type) },
                  { key: 'langfuse.observation.model.name', value: str('gpt-4') },
                  { key: 'gen_ai.request.model', value: str('gpt-4') },
                  { key: 'openinference.span.kind', value: str('LLM') },
                ],
                status: {},
              },
            ],
          },
        ],
      });
      const [observation] = ofType(events, `${type}-create`);
      expect(ofType(events, 'generation-create')).toHaveLength(0);
      expect(observation?.body).toMatchObject({ name: `test-${type}`, model: 'gpt-4' });
    }
  });
});
