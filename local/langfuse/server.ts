/**
 * A local Langfuse-compatible server, the test double of the sync's peer. It
 * applies Langfuse's own mapping and storage rules (ported from Langfuse's
 * source at commit 62751446; see docs/langfuse-mapping.md) and answers the
 * public GET endpoints a Langfuse user would look at.
 *
 *  - Basic auth with a public and a secret key, as Langfuse checks them.
 *  - POST /api/public/ingestion and POST /api/public/otel/v1/traces (endpoints.ts).
 *  - GET /api/public/traces/{id}, GET /api/public/scores (v1) and /v2/scores,
 *    GET and DELETE /api/public/scores/{id}, GET /api/public/v2/scores/{id},
 *    GET /api/public/sessions/{id}.
 *  - It also keeps what it received (scores by id, spans by Langfuse trace id,
 *    refused events) for assertions; GET /_local/received shows it.
 *  - Faults: a status for whole requests (500, 429 with Retry-After), any
 *    raw answer (an HTML 200 from a proxy, a malformed 207), errors for
 *    chosen events (a partial 207), slow answers, no answer at all, a body
 *    that never ends, dropped connections, and a hook between storing a
 *    request and answering it (Langfuse took it; the answer is late or lost).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Answer,
  type IngestionEventRecord,
  type InjectedEventError,
  ingestion,
  otelTraces,
  type Received,
  type ReceivedSpan,
} from './endpoints.ts';
import {
  ingestionEventValidator,
  type SpecSchemaName,
  specErrors,
  specValidator,
} from './openapi.ts';
import { type DroppedEvent, ProjectStore } from './project-store.ts';
import { type RouteKind, readRoute, routeKind } from './read-routes.ts';
import { scoreV2, sessionWithTraces, traceWithFullDetails } from './views.ts';

export type { IngestionEventRecord, ReceivedSpan } from './endpoints.ts';
export { LANGFUSE_OPENAPI_FILE } from './openapi.ts';
export { LOCAL_PROJECT_ID } from './project-store.ts';

export interface LangfuseFaults {
  /** Answer whole requests with this status (500, 429, 503...) while `times` lasts. */
  status: {
    code: number;
    times?: number;
    retryAfterSeconds?: number;
    /** Which endpoints; all of them when absent. */
    paths?: RouteKind[];
  } | null;
  /** Per-event errors inside a 207, by event body id (e.g. the score id): status and message. */
  /** Answer whole requests with exactly this, storing nothing, while `times` lasts. */
  answer: {
    status: number;
    contentType: string;
    body: string | Uint8Array;
    times?: number;
    paths?: RouteKind[];
  } | null;
  eventErrors: Map<string, InjectedEventError>;
  /** Wait this long before reading a request (nothing is stored until then). */
  delayMs: number;
  /** Never answer, store nothing: the connection stays open until reset() or stop(). */
  silent: boolean;
  /** Answer 200 with headers and a body that trickles forever; nothing is stored. */
  endlessBody: boolean;
  /** Destroy the connection instead of answering, while `times` lasts. */
  drop: { times: number } | null;
  /**
   * Runs after a write request was processed and stored, before its answer
   * is sent: Langfuse has the data, the sender does not know yet.
   */
  beforeAnswer: ((kind: RouteKind) => Promise<void>) | null;
}

export interface LangfuseServer {
  url: string;
  publicKey: string;
  secretKey: string;
  /** Latest accepted score-create body, by score id (as received, before Langfuse's merge). */
  scores: Map<string, Record<string, unknown>>;
  /** Every accepted score-create event, in order (duplicates show here). */
  scoreEvents: IngestionEventRecord[];
  /** Accepted spans, by Langfuse trace id (the OTLP traceId as Langfuse reads it: 32 hex). */
  spans: Map<string, ReceivedSpan[]>;
  /** Every event refused by the OpenAPI spec or by Langfuse's rules, with the errors. */
  invalid: Received['invalid'];
  /** Events Langfuse accepts over HTTP but drops in its worker (bad OTel fields, configIds...). */
  readonly dropped: readonly DroppedEvent[];
  /** GET answers that did not match the spec's response schema (should stay empty). */
  invalidResponses: { path: string; errors: string[] }[];
  requests: { path: string; status: number; contentType: string }[];
  faults: LangfuseFaults;
  /** The stored project (records keyed by Langfuse id). */
  store: ProjectStore;
  /** GET /api/public/traces/{id} as Langfuse answers it (TraceWithFullDetails), or undefined. */
  trace(id: string): Record<string, unknown> | undefined;
  /** GET /api/public/sessions/{id}, or undefined. */
  session(id: string): Record<string, unknown> | undefined;
  /** Scores (v2 shape) whose traceId names a trace the server never stored. */
  orphanedScores(): Record<string, unknown>[];
  reset(): void;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const header = (req: IncomingMessage, name: string) => {
  const value = req.headers[name] ?? req.headers[name.replaceAll('-', '_')];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
};

export async function startLangfuseServer(
  options: { port?: number; publicKey?: string; secretKey?: string } = {},
): Promise<LangfuseServer> {
  const publicKey = options.publicKey ?? 'pk-lf-local';
  const secretKey = options.secretKey ?? 'sk-lf-local';
  const expectedAuth = `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}`;
  const freshFaults = (): LangfuseFaults => ({
    status: null,
    answer: null,
    eventErrors: new Map(),
    delayMs: 0,
    silent: false,
    endlessBody: false,
    drop: null,
    beforeAnswer: null,
  });
  // Connections a fault holds open (silent, endless body): ended by reset() and stop().
  const held = new Set<IncomingMessage['socket']>();
  const hold = (req: IncomingMessage) => {
    held.add(req.socket);
    req.socket.once('close', () => held.delete(req.socket));
  };
  const store = new ProjectStore();
  // Compiled before listening, so no request pays for reading the spec.
  ingestionEventValidator();

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
    get dropped() {
      return store.dropped;
    },
    invalidResponses: [],
    requests: [],
    faults: freshFaults(),
    store,
    trace: (id) => traceWithFullDetails(store, id),
    session: (id) => sessionWithTraces(store, id),
    orphanedScores: () => store.orphanedScores().map(scoreV2),
    reset() {
      generation += 1;
      state.scores.clear();
      state.scoreEvents.length = 0;
      state.spans.clear();
      state.invalid.length = 0;
      state.invalidResponses.length = 0;
      state.requests.length = 0;
      state.faults = freshFaults();
      for (const socket of held) socket.destroy();
      held.clear();
      store.clear();
    },
  };

  function send(res: ServerResponse, answer: Answer, headers: Record<string, string> = {}) {
    const text = answer.text === true;
    res
      .writeHead(answer.status, {
        'content-type': text ? 'text/plain; charset=utf-8' : 'application/json',
        ...headers,
      })
      .end(text ? String(answer.body) : JSON.stringify(answer.body));
  }

  function received() {
    return {
      scores: Object.fromEntries(state.scores),
      traces: Object.fromEntries(
        [...state.spans].map(([id, spans]) => [id, spans.map((s) => s.name)]),
      ),
      traceIds: [...store.traces.keys()],
      orphanedScores: state.orphanedScores(),
      invalid: state.invalid,
      dropped: state.dropped,
    };
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    const contentType = header(req, 'content-type');
    const body = await readBody(req);
    const record = (status: number) => state.requests.push({ path, status, contentType });

    if (req.method === 'GET' && path === '/_local/received') {
      send(res, { status: 200, body: received() });
      return;
    }
    const kind = routeKind(path);
    if (req.headers.authorization !== expectedAuth) {
      record(401);
      const message = req.headers.authorization
        ? "Invalid credentials. Confirm that you've configured the correct host."
        : 'No authorization header';
      const answer = kind === 'ingestion' ? { error: 'UnauthorizedError', message } : { message };
      send(res, { status: 401, body: answer });
      return;
    }
    if (!kind) {
      record(404);
      send(res, { status: 404, body: { message: 'Not found' } });
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
    if (faults.silent) {
      record(0);
      hold(req);
      return;
    }
    if (faults.endlessBody) {
      record(200);
      hold(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      const trickle = setInterval(() => res.write(' '), 200);
      req.socket.once('close', () => clearInterval(trickle));
      return;
    }
    const raw = faults.answer;
    if (
      raw &&
      (!raw.paths || raw.paths.includes(kind)) &&
      (raw.times === undefined || raw.times > 0)
    ) {
      if (raw.times !== undefined) raw.times -= 1;
      record(raw.status);
      res.writeHead(raw.status, { 'content-type': raw.contentType }).end(raw.body);
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
      send(res, { status: fault.code, body: { message: `injected ${fault.code}` } }, headers);
      return;
    }
    let answer: Answer & { schema?: SpecSchemaName };
    const write = kind === 'ingestion' || kind === 'otel';
    if (write && req.method !== 'POST') {
      answer = {
        status: 405,
        body: { message: 'Method not allowed', error: 'MethodNotAllowedError' },
      };
    } else if (kind === 'ingestion') {
      answer = ingestion(body, contentType, store, state, faults.eventErrors);
    } else if (kind === 'otel') {
      answer = otelTraces(
        body,
        {
          contentType,
          contentEncoding: header(req, 'content-encoding'),
          ingestionVersion: header(req, 'x-langfuse-ingestion-version'),
        },
        store,
        state,
      );
    } else {
      answer = readRoute(req.method ?? 'GET', url, store);
      if (req.method === 'GET' && answer.status === 200 && answer.schema) {
        const validate = specValidator(answer.schema);
        // JSON round trip: validate exactly what goes on the wire.
        if (!validate(JSON.parse(JSON.stringify(answer.body)))) {
          state.invalidResponses.push({ path, errors: specErrors(validate) });
        }
      }
    }
    if (write && faults.beforeAnswer) {
      const arrivedIn = generation;
      await faults.beforeAnswer(kind);
      if (generation !== arrivedIn) {
        req.socket.destroy();
        return;
      }
    }
    record(answer.status);
    send(res, answer);
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of held) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
