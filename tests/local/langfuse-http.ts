/**
 * Test helpers: talk to the local Langfuse server over HTTP as an SDK or a
 * Langfuse user would, build OTLP payloads with the OpenTelemetry SDK, and
 * check every GET answer against the published spec's response schema.
 */
import { type Attributes, context, type Span, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'vitest';
import { type SpecSchemaName, specErrors, specValidator } from '../../local/langfuse/openapi.ts';
import type { LangfuseServer } from '../../local/langfuse/server.ts';

export const authHeader = (langfuse: LangfuseServer) =>
  `Basic ${Buffer.from(`${langfuse.publicKey}:${langfuse.secretKey}`).toString('base64')}`;

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export async function call<T = Record<string, unknown>>(
  langfuse: LangfuseServer,
  path: string,
  init: RequestInit = {},
): Promise<Reply<T>> {
  const res = await fetch(`${langfuse.url}${path}`, {
    ...init,
    headers: { authorization: authHeader(langfuse), ...(init.headers as Record<string, string>) },
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain-text answers (413, invalid JSON) stay text
  }
  return { status: res.status, body: body as T };
}

/** A GET whose 200 answer must satisfy `schema` from vendor/langfuse/openapi.yml. */
export async function get<T = Record<string, unknown>>(
  langfuse: LangfuseServer,
  path: string,
  schema?: SpecSchemaName,
): Promise<Reply<T>> {
  const reply = await call<T>(langfuse, path);
  if (reply.status === 200 && schema) {
    const validate = specValidator(schema);
    const valid = validate(reply.body);
    expect(valid ? [] : specErrors(validate), `${path} against ${schema}`).toEqual([]);
  }
  return reply;
}

export interface EventInput {
  id?: string;
  type: string;
  timestamp?: string;
  body: Record<string, unknown>;
}

let eventCounter = 0;
export const event = (input: EventInput) => ({
  id: input.id ?? `event-${++eventCounter}`,
  timestamp: input.timestamp ?? new Date().toISOString(),
  type: input.type,
  body: input.body,
});

export type IngestionReply = Reply<{
  successes: { id: string; status: number }[];
  errors: { id: string; status: number; message?: string; error?: unknown }[];
}>;

export function ingest(langfuse: LangfuseServer, batch: unknown[]): Promise<IngestionReply> {
  return call(langfuse, '/api/public/ingestion', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
}

/** Spans made by the real OpenTelemetry SDK, as an exporter would hand them over. */
export function recordSpans(
  build: (
    tracer: ReturnType<BasicTracerProvider['getTracer']>,
    child: (parent: Span) => ReturnType<typeof context.active>,
  ) => void,
  options: { scope?: string; resource?: Attributes } = {},
): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'ai-coach-test', ...options.resource }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer(options.scope ?? 'langfuse-sdk', '4.0.0');
  build(tracer, (parent) => trace.setSpan(context.active(), parent));
  return exporter.getFinishedSpans();
}

export function exportSpans(
  langfuse: LangfuseServer,
  spans: ReadableSpan[],
  encoding: 'json' | 'protobuf' = 'protobuf',
  headers: Record<string, string> = {},
): Promise<Reply> {
  const body =
    encoding === 'json'
      ? JsonTraceSerializer.serializeRequest(spans)
      : ProtobufTraceSerializer.serializeRequest(spans);
  return call(langfuse, '/api/public/otel/v1/traces', {
    method: 'POST',
    headers: {
      'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      ...headers,
    },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

/** A root span "turn" with one generation child, Langfuse-SDK style. */
export function generationTrace(attributes: { root?: Attributes; generation?: Attributes } = {}) {
  const start = new Date('2025-06-01T10:00:00.000Z').getTime();
  return recordSpans((tracer, child) => {
    const root = tracer.startSpan('turn', { startTime: start, attributes: attributes.root });
    const generation = tracer.startSpan(
      'llm',
      {
        startTime: start + 100,
        attributes: { 'langfuse.observation.type': 'generation', ...attributes.generation },
      },
      child(root),
    );
    generation.end(start + 1_600);
    root.end(start + 1_700);
  });
}
