/**
 * Langfuse's "Property Mapping" and "GenAI usage normalization" cases from
 * web/src/__tests__/server/api/otel/otelMapping.servertest.ts (commit
 * 62751446), run against the local port of OtelIngestionProcessor.
 * Vendor-only cases (Vercel AI SDK, OpenInference message lists, Genkit,
 * TraceLoop, MLflow, Pydantic, LiveKit...) are left out: not modelled.
 */
import { describe, expect, it } from 'vitest';
import { ingestionEventSchema } from '../../local/langfuse/ingestion-schema.ts';
import { convert, defaultSpanProps, str, withAttributes } from './otel-span-fixture.ts';

const path = (value: unknown, keyPath: string) =>
  keyPath.split('.').reduce<unknown>((acc, key) => (acc as Record<string, unknown>)?.[key], value);

const s = (stringValue: string) => ({ stringValue });
const int = (value: number | string) => ({ intValue: value });
const dbl = (value: number | string) => ({ doubleValue: value });
type Case = [string, 'trace' | 'observation', string, unknown, string, unknown];
const CST = 'langfuse.observation.completion_start_time';

describe('Property Mapping: Attributes', () => {
  // [name, entity, OTel attribute, OTLP value, Langfuse field path, expected]
  // biome-ignore format: one case per line reads as the table it is
  const cases: Case[] = [
    ['start time with offset', 'observation', CST, s('2025-09-17T22:16:28.152000+02:00'), 'completionStartTime', '2025-09-17T22:16:28.152000+02:00'],
    ['non-stringified start time', 'observation', CST, s('2025-10-01T08:45:26.112648Z'), 'completionStartTime', '2025-10-01T08:45:26.112648Z'],
    ['double-stringified start time', 'observation', CST, s('"2025-10-01T08:45:26.112648Z"'), 'completionStartTime', '2025-10-01T08:45:26.112648Z'],
    ['input_tokens string to number', 'observation', 'gen_ai.usage.input_tokens', s('15'), 'usageDetails.input', 15],
    ['langfuse.environment on trace', 'trace', 'langfuse.environment', s('test'), 'environment', 'test'],
    ['deployment.environment.name', 'observation', 'deployment.environment.name', s('test'), 'environment', 'test'],
    ['default environment', 'observation', 'unused.key', s('x'), 'environment', 'default'],
    ['no promptName on a span', 'observation', 'langfuse.prompt.name', s('p'), 'promptName', null],
    ['public from langfuse.public', 'trace', 'langfuse.public', { boolValue: true }, 'public', true],
    ['truthy values are not public', 'trace', 'langfuse.public', s('yes'), 'public', false],
    ['userId from user.id', 'trace', 'user.id', s('user-1'), 'userId', 'user-1'],
    ['userId from langfuse.user.id', 'trace', 'langfuse.user.id', s('user-1'), 'userId', 'user-1'],
    ['sessionId from session.id', 'trace', 'session.id', s('session-1'), 'sessionId', 'session-1'],
    ['sessionId from langfuse.session.id', 'trace', 'langfuse.session.id', s('s-1'), 'sessionId', 's-1'],
    ['sessionId from gen_ai.conversation.id', 'trace', 'gen_ai.conversation.id', s('c-1'), 'sessionId', 'c-1'],
    ['model from gen_ai.request.model', 'observation', 'gen_ai.request.model', s('gpt-4'), 'model', 'gpt-4'],
    ['model from llm.model_name', 'observation', 'llm.model_name', s('gpt-4'), 'model', 'gpt-4'],
    ['model from model', 'observation', 'model', s('gpt-4o-mini'), 'model', 'gpt-4o-mini'],
    ['temperature parameter', 'observation', 'gen_ai.request.temperature', dbl(1), 'modelParameters.temperature', 1],
    ['max_tokens parameter', 'observation', 'gen_ai.request.max_tokens', int(100), 'modelParameters.max_tokens', 100],
    ['model_config parameters', 'observation', 'model_config', s('{"max_tokens": 4096}'), 'modelParameters.max_tokens', 4096],
    ['llm.invocation_parameters', 'observation', 'llm.invocation_parameters', s('{"max_tokens": 4096}'), 'modelParameters.max_tokens', 4096],
    ['llm.token_count.prompt', 'observation', 'llm.token_count.prompt', int(100), 'usageDetails.input', 100],
    ['gen_ai.usage.input_tokens', 'observation', 'gen_ai.usage.input_tokens', int(100), 'usageDetails.input', 100],
    ['gen_ai.usage.completion_tokens', 'observation', 'gen_ai.usage.completion_tokens', int(100), 'usageDetails.output', 100],
    ['gen_ai.usage.total_tokens', 'observation', 'gen_ai.usage.total_tokens', int(100), 'usageDetails.total', 100],
    ['gen_ai.usage.custom_tokens', 'observation', 'gen_ai.usage.custom_tokens', int(100), 'usageDetails.custom_tokens', 100],
    ['cost from gen_ai.usage.cost', 'observation', 'gen_ai.usage.cost', dbl(0.000151), 'costDetails.total', 0.000151],
    ['cost from llm.cost.total', 'observation', 'llm.cost.total', dbl(0.000151), 'costDetails.total', 0.000151],
    ['gen_ai.usage.cost is no usage', 'observation', 'gen_ai.usage.cost', dbl(0.000151), 'usageDetails.cost', undefined],
    ['langfuse.metadata on trace', 'trace', 'langfuse.metadata', s('{"customer_id": "123"}'), 'metadata.customer_id', '123'],
    ['langfuse.metadata on observation', 'observation', 'langfuse.metadata', s('{"customer_id": "123"}'), 'metadata.customer_id', '123'],
    ['langfuse.metadata.* on trace', 'trace', 'langfuse.metadata.user_type', s('premium'), 'metadata.user_type', 'premium'],
    ['langfuse.metadata.* on observation', 'observation', 'langfuse.metadata.user_type', s('premium'), 'metadata.user_type', 'premium'],
    ['tags from one string', 'trace', 'langfuse.tags', s('2'), 'tags', ['2']],
    ['tags from an array', 'trace', 'langfuse.tags', { arrayValue: { values: [s('2')] } }, 'tags', ['2']],
    ['tags from a JSON array string', 'trace', 'langfuse.tags', s('["2"]'), 'tags', ['2']],
    ['tags from a csv string', 'trace', 'langfuse.tags', s('2,3,4'), 'tags', ['2', '3', '4']],
    ['gen_ai.input.messages', 'observation', 'gen_ai.input.messages', s('{"foo": "bar"}'), 'input', '{"foo": "bar"}'],
    ['gen_ai.output.messages', 'observation', 'gen_ai.output.messages', s('{"foo": "bar"}'), 'output', '{"foo": "bar"}'],
    ['gen_ai.tool.call.arguments', 'observation', 'gen_ai.tool.call.arguments', s('{"a": 1}'), 'input', '{"a": 1}'],
    ['gen_ai.tool.call.result', 'observation', 'gen_ai.tool.call.result', s('{"a": 1}'), 'output', '{"a": 1}'],
    ['OTLP/JSON intValue (max_tokens)', 'observation', 'gen_ai.request.max_tokens', int('100'), 'modelParameters.max_tokens', 100],
    ['OTLP/JSON intValue (usage)', 'observation', 'gen_ai.usage.input_tokens', int('100'), 'usageDetails.input', 100],
    ['OTLP/JSON doubleValue (cost)', 'observation', 'gen_ai.usage.cost', dbl('0.000151'), 'costDetails.total', 0.000151],
  ];
  it.each(cases)('%s', (_name, entity, key, value, entityKey, expected) => {
    const events = convert(withAttributes([{ key, value }]));
    const event = entity === 'trace' ? events[0] : events[1];
    expect(path(event?.body, entityKey)).toEqual(expected);
  });

  it('maps OTel GenAI operations and OpenInference span kinds to observation types', () => {
    const typeOf = (key: string, value: string) =>
      convert(withAttributes([{ key, value: str(value) }])).find((e) => e.type !== 'trace-create')
        ?.type;
    const genAi = {
      chat: 'generation',
      completion: 'generation',
      generate_content: 'generation',
      generate: 'generation',
      embeddings: 'embedding',
      invoke_agent: 'agent',
      create_agent: 'agent',
      execute_tool: 'tool',
    };
    for (const [operation, type] of Object.entries(genAi)) {
      expect(typeOf('gen_ai.operation.name', operation)).toBe(`${type}-create`);
    }
    const openInference = {
      CHAIN: 'chain',
      RETRIEVER: 'retriever',
      LLM: 'generation',
      EMBEDDING: 'embedding',
      AGENT: 'agent',
      TOOL: 'tool',
      GUARDRAIL: 'guardrail',
      EVALUATOR: 'evaluator',
      '': 'span',
      UnknownKind: 'span',
    };
    for (const [kind, type] of Object.entries(openInference)) {
      expect(typeOf('openinference.span.kind', kind)).toBe(`${type}-create`);
    }
  });

  it('treats an empty parentSpanId buffer as no parent (a root: trace + span)', () => {
    const events = convert(withAttributes([], { parentSpanId: { type: 'Buffer', data: [] } }));
    expect(events.map((e) => e.type)).toEqual(['trace-create', 'span-create']);
  });

  it('normalizes foreign level words, and status code 2 means ERROR', () => {
    const level = (word: string, status: Record<string, unknown> = {}) =>
      convert(
        withAttributes([{ key: 'langfuse.observation.level', value: str(word) }], { status }),
      )[1]?.body.level;
    expect(level('warning')).toBe('WARNING');
    expect(level('INFO')).toBe('DEFAULT');
    expect(level('FATAL')).toBe('ERROR');
    expect(level('[REDACTED]', { code: 2 })).toBe('ERROR');
    expect(level('[REDACTED]')).toBe('DEFAULT');
  });

  it('links prompts only on generations', () => {
    const prompt = [
      { key: 'langfuse.observation.prompt.name', value: str('my-prompt') },
      { key: 'langfuse.observation.prompt.version', value: { intValue: { low: 1, high: 0 } } },
    ];
    for (const type of ['agent', 'tool', 'span']) {
      const [, observation] = convert(
        withAttributes([{ key: 'langfuse.observation.type', value: str(type) }, ...prompt]),
      );
      expect(observation?.body).toMatchObject({ promptName: null, promptVersion: null });
    }
    const [, generation] = convert(
      withAttributes([{ key: 'langfuse.observation.type', value: str('generation') }, ...prompt]),
    );
    expect(generation?.body).toMatchObject({ promptName: 'my-prompt', promptVersion: 1 });
  });

  it('converts OTLP/JSON string-encoded int resource attributes without NaN', () => {
    const events = convert({
      resource: {
        attributes: [
          { key: 'service.name', value: str('langfuse-demo') },
          { key: 'process.pid', value: { intValue: '7' } },
        ],
      },
      scopeSpans: [{ scope: { name: 'demo-tracer' }, spans: [defaultSpanProps as never] }],
    });
    expect(path(events[1]?.body, 'metadata.resourceAttributes')).toEqual({
      'service.name': 'langfuse-demo',
      'process.pid': 7,
    });
    for (const event of events) expect(ingestionEventSchema.safeParse(event).success).toBe(true);
  });

  it('normalizes official gen_ai cache usage into Langfuse canonical keys', () => {
    const int = (low: number) => ({ intValue: { low, high: 0, unsigned: false } });
    const [, observation] = convert(
      withAttributes([
        { key: 'gen_ai.usage.input_tokens', value: int(100) },
        { key: 'gen_ai.usage.output_tokens', value: int(40) },
        { key: 'gen_ai.usage.total_tokens', value: int(140) },
        { key: 'gen_ai.usage.cache_read.input_tokens', value: int(20) },
        { key: 'gen_ai.usage.cache_creation.input_tokens', value: int(10) },
        { key: 'gen_ai.usage.output_audio_tokens', value: int(5) },
      ]),
    );
    expect(observation?.body.usageDetails).toMatchObject({
      input: 70,
      output: 40,
      total: 140,
      input_cached_tokens: 20,
      input_cache_creation: 10,
      output_audio_tokens: 5,
    });
  });

  it('keeps trace input/output out of metadata.attributes, stringifies the rest', () => {
    const events = convert({
      resource: { attributes: [{ key: 'service.name', value: str('test-service') }] },
      scopeSpans: [
        {
          scope: { name: 'test-scope', version: '1.0.0' },
          spans: [
            {
              ...defaultSpanProps,
              attributes: [
                { key: 'langfuse.trace.input', value: str('{"query": "hello"}') },
                { key: 'langfuse.trace.output', value: str('{"response": "hi"}') },
                { key: 'count', value: { intValue: { low: 42, high: 0 } } },
                { key: 'temperature', value: { doubleValue: 0.7 } },
                { key: 'is_streaming', value: { boolValue: true } },
              ],
            },
          ],
        },
      ],
    });
    const trace = events[0]?.body as {
      input: unknown;
      output: unknown;
      metadata: { attributes: Record<string, string> };
    };
    expect(trace.input).toBe('{"query": "hello"}');
    expect(trace.output).toBe('{"response": "hi"}');
    expect(trace.metadata.attributes).toEqual({
      count: '42',
      temperature: '0.7',
      is_streaming: 'true',
    });
  });
});
