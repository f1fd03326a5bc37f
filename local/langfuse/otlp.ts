/**
 * The OTLP side of POST /api/public/otel/v1/traces, as Langfuse reads it:
 * decoding (web/src/pages/api/public/otel/v1/traces/index.ts), the id check
 * that rejects a whole export (packages/shared/src/server/otel/utils.ts
 * validateOtelSpanIds), and the value conversions of
 * packages/shared/src/server/otel/OtelIngestionProcessor.ts (parseId,
 * convertValueToPlainJavascript, convertNanoTimestampToISO,
 * resolveSpanTimestamps), all at commit 62751446.
 */
import protobufRoot from 'otlp-protobuf/build/esm/generated/root.js';

/** A span as decoded: ids are hex strings (JSON) or bytes (protobuf); times strings or Longs. */
export interface OtlpSpan {
  traceId?: unknown;
  spanId?: unknown;
  parentSpanId?: unknown;
  name?: string;
  startTimeUnixNano?: unknown;
  endTimeUnixNano?: unknown;
  attributes?: { key: string; value?: Record<string, unknown> }[];
  events?: unknown[];
  status?: { code?: number; message?: string };
}
export interface OtlpScopeSpans {
  scope?: { name?: string; version?: string; attributes?: OtlpSpan['attributes'] };
  spans?: OtlpSpan[];
}
export interface OtlpResourceSpans {
  resource?: { attributes?: OtlpSpan['attributes'] };
  scopeSpans?: OtlpScopeSpans[];
}

type ProtobufMessage = {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): unknown;
};
const ExportTraceServiceRequest = (
  protobufRoot as unknown as {
    opentelemetry: {
      proto: { collector: { trace: { v1: { ExportTraceServiceRequest: ProtobufMessage } } } };
    };
  }
).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

/**
 * traces/index.ts: protobuf is decoded with `{ longs: String }` only, so ids
 * stay bytes; JSON is taken as it is. Throws on a body that does not parse.
 */
export function decodeResourceSpans(body: Buffer, format: 'json' | 'protobuf'): unknown {
  if (format === 'json')
    return (JSON.parse(body.toString('utf8')) as { resourceSpans?: unknown })?.resourceSpans;
  const message = ExportTraceServiceRequest.decode(new Uint8Array(body));
  return (
    ExportTraceServiceRequest.toObject(message, { longs: String }) as { resourceSpans?: unknown }
  ).resourceSpans;
}

/** utils.ts getOtelIdRejectionReason: what parseId can turn into a string. */
function idRejection(value: unknown): 'absent' | 'not_an_id' | null {
  if (value === null || value === undefined) return 'absent';
  if (typeof value === 'string' || value instanceof Uint8Array || Array.isArray(value)) return null;
  const buffer = value as { type?: unknown; data?: unknown };
  if (typeof value === 'object' && buffer.type === 'Buffer' && Array.isArray(buffer.data))
    return null;
  return 'not_an_id';
}
const malformedList = (value: unknown) =>
  value !== null && value !== undefined && !Array.isArray(value);

/**
 * utils.ts validateOtelSpanIds + the 400 message traces/index.ts builds from
 * it: one span without a usable traceId/spanId (or a collection that is not an
 * array) rejects the whole export. Returns the error text, or null if fine.
 */
export function otlpExportProblem(resourceSpans: unknown): string | null {
  if (!Array.isArray(resourceSpans)) return null;
  let total = 0;
  let invalid = 0;
  let malformed = 0;
  const reasons = new Map<string, number>();
  const scopes = new Set<string>();
  const count = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  const sampleScope = (name: string | undefined) => {
    if (name && scopes.size < 5) scopes.add(name);
  };
  const malformedAt = (reason: string, scopeName?: string) => {
    malformed += 1;
    count(reason);
    sampleScope(scopeName);
  };
  for (const resource of resourceSpans as OtlpResourceSpans[]) {
    if (malformedList(resource?.resource?.attributes))
      malformedAt('resource.attributes:not_an_array');
    const scopeSpans = resource?.scopeSpans as unknown;
    if (!Array.isArray(scopeSpans)) {
      if (scopeSpans != null) malformedAt('scopeSpans:not_an_array');
      continue;
    }
    for (const scopeSpan of scopeSpans as OtlpScopeSpans[]) {
      const scopeName = scopeSpan?.scope?.name;
      if (malformedList(scopeSpan?.scope?.attributes)) {
        malformedAt('scope.attributes:not_an_array', scopeName);
      }
      const spans = scopeSpan?.spans as unknown;
      if (!Array.isArray(spans)) {
        if (spans != null) malformedAt('spans:not_an_array', scopeName);
        continue;
      }
      for (const span of spans as OtlpSpan[]) {
        total += 1;
        const spanReasons: string[] = [];
        for (const kind of ['traceId', 'spanId'] as const) {
          const reason = idRejection(span?.[kind]);
          if (reason) spanReasons.push(`${kind}:${reason}`);
        }
        if (span?.parentSpanId) {
          const reason = idRejection(span.parentSpanId);
          if (reason) spanReasons.push(`parentSpanId:${reason}`);
        }
        if (malformedList(span?.attributes)) spanReasons.push('attributes:not_an_array');
        if (malformedList(span?.events)) spanReasons.push('events:not_an_array');
        else if (
          span?.events?.some((e) => malformedList((e as { attributes?: unknown })?.attributes))
        ) {
          spanReasons.push('event.attributes:not_an_array');
        }
        if (spanReasons.length === 0) continue;
        invalid += 1;
        spanReasons.forEach(count);
        sampleScope(scopeName);
      }
    }
  }
  if (invalid === 0 && malformed === 0) return null;
  const keys = [...reasons.keys()];
  const problems = [
    ...(invalid > 0 ? [`${invalid} of ${total} span(s) cannot be processed`] : []),
    ...(malformed > 0
      ? [`${malformed} resource- or scope-level field(s) are present but not arrays`]
      : []),
  ];
  const hints = [
    ...(keys.some((r) => r.endsWith(':absent') || r.endsWith(':not_an_id'))
      ? [
          'traceId and spanId are required on every span, and each must be a string or a ' +
            'byte array.',
        ]
      : []),
    ...(keys.some((r) => r.endsWith(':not_an_array'))
      ? [
          'scopeSpans, spans, attributes and events must all be arrays — OTLP attributes are ' +
            'a list of {key, value} entries, not a JSON object.',
        ]
      : []),
  ];
  return (
    `Invalid OTLP trace export: ${problems.join('; ')} (${keys.join(', ')}). ${hints.join(' ')} ` +
    'The entire export was rejected and no spans were ingested. ' +
    `Instrumentation scopes: ${[...scopes].join(', ') || 'unknown'}. ` +
    'This endpoint accepts OpenTelemetry traces only — if you are exporting OpenTelemetry ' +
    'logs, point your log exporter elsewhere.'
  );
}

/**
 * OtelIngestionProcessor.parseId: a string (OTLP/JSON) is used exactly as
 * sent — no lowercasing, no hex check; bytes (protobuf) become lowercase hex.
 */
export function parseId(data: unknown): string {
  const unwrapped = (data as { data?: unknown })?.data ?? data;
  return typeof unwrapped === 'string'
    ? unwrapped
    : Buffer.from(unwrapped as Uint8Array | number[]).toString('hex');
}

/** OtelIngestionProcessor.convertOtelIntValue: number, decimal string, or protobuf Long. */
function intValue(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const parsed = Number(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  const long = value as { high?: number; low?: number } | null;
  if (long && typeof long === 'object') {
    if (long.high === 0) return long.low;
    if (long.high === -1 && long.low === -1) return -1;
    if (typeof long.high === 'number') return long.high * 2 ** 32 + (long.low ?? 0);
  }
  return undefined;
}

/**
 * OtelIngestionProcessor.convertValueToPlainJavascript: string, double (a
 * numeric string becomes a number), bool, array, int; anything else
 * (kvlistValue, bytesValue, an empty value) becomes its JSON text.
 */
export function plainValue(value: Record<string, unknown>): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.doubleValue !== undefined) {
    if (typeof value.doubleValue !== 'string') return value.doubleValue;
    const parsed = Number(value.doubleValue);
    return Number.isFinite(parsed) ? parsed : value.doubleValue;
  }
  if (value.boolValue !== undefined) return value.boolValue;
  const array = value.arrayValue as { values?: Record<string, unknown>[] } | undefined;
  if (array && array.values !== undefined) return array.values.map(plainValue);
  if (value.intValue !== undefined) {
    const parsed = intValue(value.intValue);
    if (parsed !== undefined) return parsed;
  }
  return JSON.stringify(value);
}

/** OtelIngestionProcessor.extract*Attributes: a KeyValue list as a plain object (last key wins). */
export function attributeMap(list: OtlpSpan['attributes']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const attribute of list ?? []) out[attribute.key] = plainValue(attribute.value ?? {});
  return out;
}

/**
 * OtelIngestionProcessor.convertNanoTimestampToISO: nanoseconds (decimal
 * string, number or Long) -> ISO, truncated to the millisecond; undefined if
 * missing or unreadable.
 */
export function nanosToIso(timestamp: unknown): string | undefined {
  try {
    if (timestamp == null) return undefined;
    if (typeof timestamp === 'string') {
      if (timestamp.trim() === '') return undefined;
      return new Date(Number(BigInt(timestamp) / 1_000_000n)).toISOString();
    }
    if (typeof timestamp === 'number') {
      return Number.isFinite(timestamp) ? new Date(timestamp / 1e6).toISOString() : undefined;
    }
    const long = timestamp as { high?: unknown; low?: unknown };
    if (typeof long.high !== 'number' || typeof long.low !== 'number') return undefined;
    const nanos = (BigInt(long.high) << 32n) | BigInt(long.low >>> 0);
    return new Date(Number(nanos / 1_000_000n)).toISOString();
  } catch {
    return undefined;
  }
}

/** OtelIngestionProcessor.resolveSpanTimestamps: a missing edge takes the other one, else now. */
export function spanTimes(span: OtlpSpan): { startTimeISO: string; endTimeISO: string } {
  const start = nanosToIso(span.startTimeUnixNano);
  const end = nanosToIso(span.endTimeUnixNano);
  const now = new Date().toISOString();
  return { startTimeISO: start ?? end ?? now, endTimeISO: end ?? start ?? now };
}
