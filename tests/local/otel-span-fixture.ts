/**
 * The span Langfuse's own OTel mapping tests start from
 * (web/src/__tests__/server/api/otel/otelMapping.servertest.ts, commit
 * 62751446): protobuf-decoded ids and Long timestamps, as its worker sees them.
 */
import { otelToIngestionEvents } from '../../local/langfuse/otel-ingestion.ts';
import type { OtlpResourceSpans } from '../../local/langfuse/otlp.ts';

export const str = (stringValue: string) => ({ stringValue });
export const TRACE = {
  type: 'Buffer',
  data: [234, 103, 55, 8, 68, 28, 41, 132, 165, 74, 62, 57, 98, 211, 89, 95],
};
export const defaultSpanProps = {
  traceId: TRACE,
  spanId: { type: 'Buffer', data: [185, 4, 191, 251, 32, 190, 109, 126] },
  name: 'openai.chat.completions',
  kind: 3,
  startTimeUnixNano: { low: 153687506, high: 404677085, unsigned: true },
  endTimeUnixNano: { low: 1327836088, high: 404677085, unsigned: true },
};
export const withAttributes = (attributes: unknown[], extra: Record<string, unknown> = {}) =>
  ({
    scopeSpans: [{ spans: [{ ...defaultSpanProps, attributes, ...extra }] }],
  }) as OtlpResourceSpans;
export const convert = (resourceSpan: OtlpResourceSpans, seen = new Set<string>()) =>
  otelToIngestionEvents([resourceSpan], seen);
