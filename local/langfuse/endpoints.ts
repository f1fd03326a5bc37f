/**
 * The two write endpoints, independent of node:http: what Langfuse answers to
 * a request body, and what it stores.
 *
 *  - POST /api/public/ingestion: web/src/pages/api/public/ingestion.ts (Next.js
 *    body limit 4.5mb, the batch schema) and
 *    packages/shared/src/server/ingestion/processEventBatch.ts (per-event
 *    validation, 207 {successes, errors}); each event is first checked against
 *    the published OpenAPI spec, as this server always did.
 *    On a v4 server (`eventsOnly`) the batch is first filtered by
 *    events-only.ts: only score-create and sdk-log events are processed.
 *  - POST /api/public/otel/v1/traces: web/src/pages/api/public/otel/v1/traces/index.ts;
 *    what happens to an accepted export (v3 merge, v4 direct or legacy path)
 *    is the caller's `write`.
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { sortBatch } from './entity-merge.ts';
import { filterBatchForEventsOnly } from './events-only.ts';
import { type IngestionEvent, ingestionEventSchema } from './ingestion-schema.ts';
import { ingestionEventValidator, specErrors } from './openapi.ts';
import {
  attributeMap,
  decodeResourceSpans,
  type OtlpResourceSpans,
  otlpExportProblem,
  parseId,
} from './otlp.ts';
import { LOCAL_PROJECT_ID } from './project-store.ts';

export interface Answer {
  status: number;
  body: unknown;
  /** Next.js answers some errors as plain text. */
  text?: boolean;
}

export interface IngestionEventRecord {
  type: string;
  id: string;
  timestamp: string;
  body: Record<string, unknown> & { id?: string };
}

/** A span as received, for assertions (ids as Langfuse's parseId reads them). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
}

export interface InjectedEventError {
  status: number;
  message: string;
  times?: number;
}

/** What the write endpoints record besides the store. */
export interface Received {
  scores: Map<string, Record<string, unknown>>;
  scoreEvents: IngestionEventRecord[];
  spans: Map<string, ReceivedSpan[]>;
  invalid: { event: unknown; errors: string[]; rule: 'openapi' | 'langfuse' }[];
}

/** ingestion.ts `config.api.bodyParser.sizeLimit: "4.5mb"` (the `bytes` package: 1024-based). */
export const INGESTION_BODY_LIMIT_BYTES = 4.5 * 1024 * 1024;

/** ingestion.ts batchType. */
const Batch = z.object({ batch: z.array(z.unknown()), metadata: z.unknown().nullish() });

/** Where accepted events go: the v3 ProjectStore, or the v4 store (scores only). */
export interface EventSink {
  ingestBatch(validated: IngestionEvent[]): void;
}

export function ingestion(
  raw: Buffer,
  contentType: string,
  store: EventSink,
  received: Received,
  eventErrors: Map<string, InjectedEventError>,
  eventsOnly = false,
): Answer {
  if (raw.byteLength > INGESTION_BODY_LIMIT_BYTES) {
    return { status: 413, body: 'Body exceeded 4.5mb limit', text: true };
  }
  let payload: unknown = raw.toString('utf8');
  if (contentType.includes('application/json')) {
    try {
      payload = raw.byteLength === 0 ? {} : JSON.parse(payload as string);
    } catch {
      return { status: 400, body: 'Invalid JSON', text: true };
    }
  }
  const parsed = Batch.safeParse(payload);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => issue.message);
    return { status: 400, body: { message: 'Invalid request data', errors } };
  }
  const { batchForProcessing, rejectedErrors } = eventsOnly
    ? filterBatchForEventsOnly(parsed.data.batch)
    : { batchForProcessing: parsed.data.batch, rejectedErrors: [] };
  const validate = ingestionEventValidator();
  const errors: { id: string; status: number; message?: string; error?: unknown }[] = [];
  const accepted: IngestionEvent[] = [];
  for (const event of batchForProcessing) {
    const id =
      typeof (event as { id?: unknown })?.id === 'string'
        ? (event as { id: string }).id
        : 'unknown';
    if (!validate(event)) {
      const problems = specErrors(validate);
      received.invalid.push({ event, errors: problems, rule: 'openapi' });
      errors.push({ id, status: 400, message: 'Invalid request data', error: problems });
      continue;
    }
    const checked = ingestionEventSchema.safeParse(event);
    if (!checked.success) {
      received.invalid.push({ event, errors: [checked.error.message], rule: 'langfuse' });
      errors.push({
        id,
        status: 400,
        message: 'Invalid request data',
        error: checked.error.message,
      });
      continue;
    }
    const bodyId = String((checked.data.body as { id?: unknown }).id ?? '');
    const injected = eventErrors.get(bodyId);
    if (injected && (injected.times === undefined || injected.times > 0)) {
      if (injected.times !== undefined) injected.times -= 1;
      errors.push({ id, status: injected.status, message: injected.message });
      continue;
    }
    // Langfuse logs sdk-log events; it neither stores nor answers them.
    if (checked.data.type === 'sdk-log') continue;
    accepted.push(checked.data);
    if (checked.data.type === 'score-create') {
      const record = event as IngestionEventRecord;
      received.scores.set(bodyId, record.body);
      received.scoreEvents.push(record);
    }
  }
  store.ingestBatch(accepted);
  const successes = sortBatch(accepted).map((e) => ({ id: e.id, status: 201 }));
  // ingestion.ts: the events-only refusals come after processEventBatch's own errors.
  errors.push(...rejectedErrors);
  return { status: 207, body: { successes, errors } };
}

function receivedSpans(resourceSpans: OtlpResourceSpans[]): ReceivedSpan[] {
  return resourceSpans.flatMap((resource) =>
    (resource?.scopeSpans ?? []).flatMap((scope) =>
      (scope?.spans ?? []).map((span) => ({
        traceId: parseId(span.traceId),
        spanId: parseId(span.spanId),
        parentSpanId: span.parentSpanId ? parseId(span.parentSpanId) : '',
        name: String(span.name ?? ''),
        startTimeUnixNano: String(span.startTimeUnixNano ?? ''),
        endTimeUnixNano: String(span.endTimeUnixNano ?? ''),
        attributes: attributeMap(span.attributes),
      })),
    ),
  );
}

export function otelTraces(
  raw: Buffer,
  headers: { contentType: string; contentEncoding: string; ingestionVersion: string },
  write: (resourceSpans: OtlpResourceSpans[]) => void,
  received: Received,
): Answer {
  let body = raw;
  if (headers.contentEncoding.includes('gzip')) {
    try {
      body = gunzipSync(raw);
    } catch {
      return { status: 400, body: { error: 'Failed to decompress request body' } };
    }
  }
  const contentType = headers.contentType.toLowerCase();
  const isProtobuf = contentType.includes('application/x-protobuf');
  if (!isProtobuf && !contentType.includes('application/json')) {
    return { status: 400, body: { error: 'Invalid content type' } };
  }
  let resourceSpans: unknown;
  try {
    resourceSpans = decodeResourceSpans(body, isProtobuf ? 'protobuf' : 'json');
  } catch {
    const kind = isProtobuf ? 'Protobuf' : 'JSON';
    return { status: 400, body: { error: `Failed to parse OTel ${kind} Trace` } };
  }
  if (!resourceSpans || (resourceSpans as unknown[]).length === 0) return { status: 200, body: {} };
  const problem = otlpExportProblem(resourceSpans);
  if (problem) return { status: 400, body: { error: problem } };
  const version = headers.ingestionVersion
    ? Number.parseInt(headers.ingestionVersion, 10)
    : undefined;
  if (version !== undefined && (Number.isNaN(version) || version > 4)) {
    const error =
      `Unsupported x-langfuse-ingestion-version: "${headers.ingestionVersion}". ` +
      'Maximum supported: "4".';
    return { status: 400, body: { error } };
  }
  if (!Array.isArray(resourceSpans)) return { status: 200, body: {} };
  for (const span of receivedSpans(resourceSpans as OtlpResourceSpans[])) {
    const list = received.spans.get(span.traceId) ?? [];
    list.push(span);
    received.spans.set(span.traceId, list);
  }
  write(resourceSpans as OtlpResourceSpans[]);
  return { status: 200, body: queuedJob(headers.ingestionVersion) };
}

/**
 * What Langfuse answers an accepted export: the route returns
 * `processor.publishToOtelIngestionQueue(...)`, BullMQ's `queue.add` Job, and
 * Next's res.json serialises it with Job.toJSON (the job's own fields, its
 * queue and scripts left out). An OTLP client reads it as an
 * ExportTraceServiceResponse with unknown fields and no partialSuccess.
 */
function queuedJob(ingestionVersion: string): Record<string, unknown> {
  const id = randomUUID();
  const timestamp = Date.now();
  return {
    name: 'otel-ingestion-job',
    data: {
      id: randomUUID(),
      timestamp: new Date(timestamp).toISOString(),
      name: 'otel-ingestion-job',
      payload: {
        data: { fileKey: `otel/${LOCAL_PROJECT_ID}/${id}.json`, publicKey: 'pk-lf-local' },
        ...(ingestionVersion ? { ingestionVersion } : {}),
      },
    },
    // OtelIngestionQueue's defaultJobOptions (packages/shared/src/server/redis/otelIngestionQueue.ts).
    opts: {
      removeOnComplete: true,
      removeOnFail: 100_000,
      attempts: 6,
      backoff: { type: 'exponential', delay: 5000 },
    },
    id,
    progress: 0,
    returnvalue: null,
    stacktrace: null,
    delay: 0,
    priority: 0,
    attemptsStarted: 0,
    attemptsMade: 0,
    stalledCounter: 0,
    timestamp,
    queueQualifiedName: 'bull:otel-ingestion-queue',
  };
}
