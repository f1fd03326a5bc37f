/**
 * Langfuse's "Trace seen logic", "Timestamp Conversion" and "Missing span
 * timestamps" cases from web/src/__tests__/server/api/otel/otelMapping.servertest.ts
 * (commit 62751446), run against the local port of OtelIngestionProcessor.
 * Vendor-only cases (Vercel AI SDK, OpenInference message lists, Genkit,
 * TraceLoop, MLflow, Pydantic, LiveKit...) are left out: not modelled.
 */
import { describe, expect, it } from 'vitest';
import { nanosToIso, type OtlpResourceSpans } from '../../local/langfuse/otlp.ts';
import { convert, str, withAttributes } from './otel-span-fixture.ts';

describe('Trace seen logic', () => {
  const traceId = '95f3b926c7d009925bcb5dbc27311120';
  const child = (
    attributes: unknown[],
    name = 'child-span',
    spanId = [212, 62, 55, 183, 209, 126, 84, 118],
  ) => ({
    traceId: {
      type: 'Buffer',
      data: [149, 243, 185, 38, 199, 208, 9, 146, 91, 203, 93, 188, 39, 49, 17, 32],
    },
    spanId: { type: 'Buffer', data: spanId },
    parentSpanId: { type: 'Buffer', data: [131, 78, 40, 181, 145, 127, 190, 246] },
    name,
    kind: 1,
    startTimeUnixNano: { low: 1047784088, high: 406627672, unsigned: true },
    endTimeUnixNano: { low: 1149405088, high: 406627672, unsigned: true },
    attributes,
    status: {},
  });
  const resource = (spans: unknown[]) =>
    ({
      resource: { attributes: [{ key: 'service.name', value: str('test-service') }] },
      scopeSpans: [{ scope: { name: 'test-scope', version: '1.0.0' }, spans }],
    }) as OtlpResourceSpans;
  const operation = [{ key: 'operation.name', value: str('test-operation') }];

  it('creates a shallow trace for an unseen trace from a child span without trace updates', () => {
    const events = convert(resource([child(operation)]));
    expect(events).toHaveLength(2);
    const trace = events.find((e) => e.type === 'trace-create');
    expect(trace?.body).toEqual({
      id: traceId,
      timestamp: '2025-05-05T13:42:33.936Z',
      environment: 'default',
    });
  });

  it('creates no trace when the trace was seen in the last 10 minutes', () => {
    const events = convert(resource([child(operation)]), new Set([traceId]));
    expect(events.map((e) => e.type)).toEqual(['span-create']);
  });

  it('creates a trace for a seen trace when the span carries trace metadata', () => {
    const events = convert(
      resource([
        child([
          { key: 'langfuse.trace.metadata.langfuse_user_id', value: str('user-123') },
          { key: 'langfuse.trace.metadata.langfuse_session_id', value: str('session-456') },
          { key: 'langfuse.trace.metadata.langfuse_tags', value: str('tag1,tag2') },
        ]),
      ]),
      new Set([traceId]),
    );
    const traces = events.filter((e) => e.type === 'trace-create');
    expect(traces).toHaveLength(1);
    expect(traces[0]?.body).toMatchObject({
      userId: 'user-123',
      sessionId: 'session-456',
      tags: ['tag1', 'tag2'],
    });
  });

  it('creates only ONE trace for several spans of one unseen trace', () => {
    const events = convert(
      resource([
        child(operation, 'first-child-span', [1, 1, 1, 1, 1, 1, 1, 1]),
        child(operation, 'second-child-span', [2, 2, 2, 2, 2, 2, 2, 2]),
        child(operation, 'third-child-span', [3, 3, 3, 3, 3, 3, 3, 3]),
      ]),
    );
    expect(events.filter((e) => e.type === 'trace-create')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'span-create').map((e) => e.body.name)).toEqual([
      'first-child-span',
      'second-child-span',
      'third-child-span',
    ]);
  });

  it('drops the shallow trace when the same export holds a full one', () => {
    const root = {
      ...child(
        [{ key: 'langfuse.trace.name', value: str('root') }],
        'root',
        [9, 9, 9, 9, 9, 9, 9, 9],
      ),
      parentSpanId: undefined,
    };
    const events = convert(resource([child(operation), root]));
    const traces = events.filter((e) => e.type === 'trace-create');
    expect(traces.map((t) => t.body.name)).toEqual(['root']);
  });

  it('prefers langfuse.session.id, then session.id, over gen_ai.conversation.id', () => {
    const session = (key: string) =>
      convert(
        withAttributes([
          { key, value: str(key) },
          { key: 'gen_ai.conversation.id', value: str('otel') },
        ]),
      )[0]?.body.sessionId;
    expect(session('langfuse.session.id')).toBe('langfuse.session.id');
    expect(session('session.id')).toBe('session.id');
  });
});

describe('Timestamp Conversion (otelMapping.servertest.ts)', () => {
  it('converts OpenTelemetry timestamps to ISO strings', () => {
    expect(nanosToIso({ low: 1095848032, high: 406260507, unsigned: true })).toBe(
      '2025-04-17T07:39:52.317Z',
    );
    expect(nanosToIso({ low: -1431863980, high: 406260507, unsigned: true })).toBe(
      '2025-04-17T07:39:54.084Z',
    );
    expect(nanosToIso('1744317592317227000')).toBe('2025-04-10T20:39:52.317Z');
    expect(nanosToIso({ low: 0, high: 0, unsigned: true })).toBe('1970-01-01T00:00:00.000Z');
  });

  it('returns undefined for missing or invalid timestamps', () => {
    for (const bad of [undefined, null, '', 'not-a-timestamp', Number.NaN, Infinity, { high: 1 }]) {
      expect(nanosToIso(bad)).toBeUndefined();
    }
  });

  it('fills a missing edge from the other one, and both from now', () => {
    const end = { low: 467248096, high: 406528574, unsigned: true };
    const spans = (extra: Record<string, unknown>) => ({
      resource: { attributes: [{ key: 'service.name', value: str('test') }] },
      scopeSpans: [
        {
          scope: { name: 'test-scope', version: '1.0.0' },
          spans: [
            {
              traceId: '2cce18f7e8cd065a0b4e634eef728391',
              spanId: '57f0255417974100',
              name: 'span',
              kind: 1,
              attributes: [],
              status: {},
              ...extra,
            },
          ],
        },
      ],
    });
    const [, endOnly] = convert(spans({ endTimeUnixNano: end }) as OtlpResourceSpans);
    expect(endOnly?.body).toMatchObject({ startTime: nanosToIso(end), endTime: nanosToIso(end) });
    const [trace, none] = convert(spans({}) as OtlpResourceSpans);
    expect(trace?.body.timestamp).toEqual(expect.any(String));
    expect(none?.body.startTime).toBe(none?.body.endTime);
  });
});
