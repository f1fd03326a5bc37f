/**
 * A local Langfuse-compatible server, the test double of the sync's peer.
 *
 *  - Basic auth with a public and a secret key, as Langfuse checks them.
 *  - POST /api/public/ingestion validates every event against Langfuse's
 *    published OpenAPI spec (vendor/langfuse/openapi.yml) and answers 207
 *    with a result per event.
 *  - POST /api/public/otel/v1/traces takes OTLP as JSON or protobuf.
 *  - It keeps what it received (scores by id, spans by trace id, and how
 *    often each arrived) for assertions; GET /_local/received shows it.
 *  - Faults: a status for whole requests (500, 429 with Retry-After), errors
 *    for chosen events (a partial 207), slow answers, dropped connections.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import protobufRoot from 'otlp-protobuf/build/esm/generated/root.js';
import { parse as parseYaml } from 'yaml';
import { projectRoot } from '../../scripts/lib/project.ts';

/** Langfuse's published OpenAPI spec (vendored; see vendor/README.md). */
export const LANGFUSE_OPENAPI_FILE = join(projectRoot, 'vendor', 'langfuse', 'openapi.yml');

export interface IngestionEventRecord {
  type: string;
  id: string;
  timestamp: string;
  body: Record<string, unknown> & { id?: string };
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
}

export interface LangfuseFaults {
  /** Answer whole requests with this status (500, 429, 503...) while `times` lasts. */
  status: {
    code: number;
    times?: number;
    retryAfterSeconds?: number;
    paths?: ('ingestion' | 'otel')[];
  } | null;
  /** Per-event errors inside a 207, by score body id: status and message. */
  eventErrors: Map<string, { status: number; message: string; times?: number }>;
  delayMs: number;
  /** Destroy the connection instead of answering, while `times` lasts. */
  drop: { times: number } | null;
}

export interface LangfuseServer {
  url: string;
  publicKey: string;
  secretKey: string;
  /** Latest accepted score-create body, by score id. */
  scores: Map<string, Record<string, unknown>>;
  /** Every accepted score-create event, in order (duplicates show here). */
  scoreEvents: IngestionEventRecord[];
  /** Accepted spans, by Langfuse trace id (uuid form). */
  spans: Map<string, ReceivedSpan[]>;
  /** Every request body that failed schema validation, with the errors. */
  invalid: { event: unknown; errors: string[] }[];
  requests: { path: string; status: number; contentType: string }[];
  faults: LangfuseFaults;
  reset(): void;
  stop(): Promise<void>;
}

/** OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null type, refs point into one document. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'nullable' || key === 'example' || key === 'discriminator') continue;
    out[key] =
      key === '$ref' && typeof value === 'string'
        ? value.replace('#/', 'langfuse#/')
        : toJsonSchema(value);
  }
  if ((node as { nullable?: boolean }).nullable === true && typeof out.type === 'string') {
    out.type = [out.type, 'null'];
  }
  return out;
}

let cachedValidator: ValidateFunction | undefined;

/** A validator for one ingestion event, compiled from the OpenAPI spec's IngestionEvent schema. */
export function ingestionEventValidator(): ValidateFunction {
  if (cachedValidator) return cachedValidator;
  // The spec reuses definitions through many YAML aliases; it is our own trusted file.
  const spec = parseYaml(readFileSync(LANGFUSE_OPENAPI_FILE, 'utf8'), { maxAliasCount: -1 }) as {
    components: unknown;
  };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'langfuse', components: toJsonSchema(spec.components) });
  cachedValidator = ajv.compile({ $ref: 'langfuse#/components/schemas/IngestionEvent' });
  return cachedValidator;
}

const ExportTraceServiceRequest = (
  protobufRoot as unknown as {
    opentelemetry: {
      proto: {
        collector: {
          trace: {
            v1: {
              ExportTraceServiceRequest: {
                decode(bytes: Uint8Array): unknown;
                toObject(message: unknown, options: Record<string, unknown>): unknown;
              };
            };
          };
        };
      };
    };
  }
).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
}

function anyValue(value: OtlpAnyValue | undefined): unknown {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(anyValue);
  return null;
}

/** OTLP ids: hex in OTLP/JSON, base64 once protobuf is turned into an object. */
function hexId(id: unknown, encoding: 'hex' | 'base64'): string {
  if (typeof id !== 'string') return '';
  return encoding === 'hex' ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

export function uuidFromTraceId(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function spansOf(request: unknown, encoding: 'hex' | 'base64'): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const resourceSpans = (request as { resourceSpans?: unknown[] }).resourceSpans ?? [];
  for (const resource of resourceSpans as {
    scopeSpans?: { spans?: Record<string, unknown>[] }[];
  }[]) {
    for (const scope of resource.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        const attributes: Record<string, unknown> = {};
        for (const attribute of (span.attributes ?? []) as {
          key: string;
          value?: OtlpAnyValue;
        }[]) {
          attributes[attribute.key] = anyValue(attribute.value);
        }
        out.push({
          traceId: hexId(span.traceId, encoding),
          spanId: hexId(span.spanId, encoding),
          parentSpanId: hexId(span.parentSpanId, encoding),
          name: String(span.name ?? ''),
          startTimeUnixNano: String(span.startTimeUnixNano ?? ''),
          endTimeUnixNano: String(span.endTimeUnixNano ?? ''),
          attributes,
        });
      }
    }
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startLangfuseServer(
  options: { port?: number; publicKey?: string; secretKey?: string } = {},
): Promise<LangfuseServer> {
  const publicKey = options.publicKey ?? 'pk-lf-local';
  const secretKey = options.secretKey ?? 'sk-lf-local';
  const validate = ingestionEventValidator();
  const expectedAuth = `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}`;
  const freshFaults = (): LangfuseFaults => ({
    status: null,
    eventErrors: new Map(),
    delayMs: 0,
    drop: null,
  });

  // Bumped by reset(): a request held by an injected delay across a reset
  // belongs to the test before and must not land in the next one's state.
  let generation = 0;
  const state: Omit<LangfuseServer, 'url' | 'stop'> = {
    publicKey,
    secretKey,
    scores: new Map(),
    scoreEvents: [],
    spans: new Map(),
    invalid: [],
    requests: [],
    faults: freshFaults(),
    reset() {
      generation += 1;
      state.scores.clear();
      state.scoreEvents.length = 0;
      state.spans.clear();
      state.invalid.length = 0;
      state.requests.length = 0;
      state.faults = freshFaults();
    },
  };

  function json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    res
      .writeHead(status, { 'content-type': 'application/json', ...headers })
      .end(JSON.stringify(body));
  }

  function ingest(body: Buffer, res: ServerResponse): number {
    let payload: { batch?: unknown };
    try {
      payload = JSON.parse(body.toString('utf8')) as { batch?: unknown };
    } catch {
      json(res, 400, { message: 'invalid JSON' });
      return 400;
    }
    if (!Array.isArray(payload.batch)) {
      json(res, 400, { message: 'batch must be an array' });
      return 400;
    }
    const successes: { id: string; status: number }[] = [];
    const errors: { id: string; status: number; message: string; error?: unknown }[] = [];
    for (const event of payload.batch as IngestionEventRecord[]) {
      const eventId = typeof event?.id === 'string' ? event.id : '';
      if (!validate(event)) {
        const problems = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
        state.invalid.push({ event, errors: problems });
        errors.push({ id: eventId, status: 400, message: 'Invalid request data', error: problems });
        continue;
      }
      const scoreId = String(event.body.id ?? '');
      const injected = state.faults.eventErrors.get(scoreId);
      if (injected && (injected.times === undefined || injected.times > 0)) {
        if (injected.times !== undefined) injected.times -= 1;
        errors.push({ id: eventId, status: injected.status, message: injected.message });
        continue;
      }
      if (event.type === 'score-create') {
        state.scores.set(scoreId, event.body);
        state.scoreEvents.push(event);
      }
      successes.push({ id: eventId, status: 201 });
    }
    json(res, 207, { successes, errors });
    return 207;
  }

  function otel(body: Buffer, contentType: string, res: ServerResponse): number {
    let spans: ReceivedSpan[];
    try {
      if (contentType.includes('json')) {
        spans = spansOf(JSON.parse(body.toString('utf8')), 'hex');
      } else {
        const message = ExportTraceServiceRequest.decode(new Uint8Array(body));
        spans = spansOf(
          ExportTraceServiceRequest.toObject(message, { longs: String, bytes: String }),
          'base64',
        );
      }
    } catch (error) {
      json(res, 400, { message: `invalid OTLP payload: ${String(error)}` });
      return 400;
    }
    for (const span of spans) {
      const traceId = uuidFromTraceId(span.traceId);
      state.spans.set(traceId, [...(state.spans.get(traceId) ?? []), span]);
    }
    json(res, 200, {});
    return 200;
  }

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const contentType = String(req.headers['content-type'] ?? '');
    const body = await readBody(req);
    const record = (status: number) => state.requests.push({ path, status, contentType });

    if (req.method === 'GET' && path === '/_local/received') {
      json(res, 200, {
        scores: Object.fromEntries(state.scores),
        traces: Object.fromEntries(
          [...state.spans].map(([id, spans]) => [id, spans.map((s) => s.name)]),
        ),
        invalid: state.invalid,
      });
      return;
    }
    if (req.headers.authorization !== expectedAuth) {
      record(401);
      json(res, 401, { message: 'Invalid credentials' });
      return;
    }
    const kind =
      path === '/api/public/ingestion'
        ? 'ingestion'
        : path === '/api/public/otel/v1/traces'
          ? 'otel'
          : null;
    if (req.method !== 'POST' || !kind) {
      record(404);
      json(res, 404, { message: 'Not found' });
      return;
    }
    const { faults } = state;
    if (faults.delayMs) {
      const arrivedIn = generation;
      await sleep(faults.delayMs);
      if (generation !== arrivedIn) {
        req.socket.destroy();
        return;
      }
    }
    if (faults.drop && faults.drop.times > 0) {
      faults.drop.times -= 1;
      record(0);
      req.socket.destroy();
      return;
    }
    const fault = faults.status;
    if (
      fault &&
      (!fault.paths || fault.paths.includes(kind)) &&
      (fault.times === undefined || fault.times > 0)
    ) {
      if (fault.times !== undefined) fault.times -= 1;
      record(fault.code);
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined
          ? {}
          : { 'retry-after': String(fault.retryAfterSeconds) };
      json(res, fault.code, { message: `injected ${fault.code}` }, headers);
      return;
    }
    record(kind === 'ingestion' ? ingest(body, res) : otel(body, contentType, res));
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
