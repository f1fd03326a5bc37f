/**
 * A local Langfuse-compatible server, the test double of the sync's peer. It
 * applies Langfuse's own mapping and storage rules (ported from Langfuse's
 * source at commit 62751446, the newest snapshot available; see
 * docs/langfuse-mapping.md) and answers the public endpoints a Langfuse user
 * would use. Two versions:
 *
 *  - 'v4' (default), Langfuse Cloud since 2026-11-16: the legacy reads answer
 *    404 (v4-legacy-routes.ts); /ingestion takes scores only (events-only.ts);
 *    an OTLP export with `x-langfuse-ingestion-version: 4` is written span by
 *    span (v4-events.ts), one without it is listed as a delayed legacy export;
 *    GET /api/public/v2/observations, GET /api/public/v3/scores (v4-routes.ts).
 *  - 'v3': traces + observations merged by id (ProjectStore), GET
 *    /api/public/traces/{id}, /scores, /v2/scores, /sessions/{id}.
 *
 * Both: Basic auth as Langfuse checks it, POST /api/public/scores and DELETE
 * /api/public/scores/{id}, optional Cloud rate limits (rate-limits.ts),
 * injectable faults (faults.ts), and what was received for assertions
 * (GET /_local/received).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Answer, ingestion, otelTraces } from './endpoints.ts';
import { injectFault } from './faults.ts';
import {
  ingestionEventValidator,
  type SpecSchemaName,
  specErrors,
  specValidator,
} from './openapi.ts';
import { isDirectWrite } from './otel-write-path.ts';
import type { OtlpResourceSpans } from './otlp.ts';
import { parseId } from './otlp.ts';
import { isRateLimited, rateLimitAnswer, rateLimitedRoute } from './rate-limits.ts';
import { readRoute, routeKind } from './read-routes.ts';
import { createScore } from './score-create.ts';
import {
  createServerState,
  type LangfuseServer,
  type LangfuseServerOptions,
} from './server-state.ts';
import { legacyRouteAnswer } from './v4-legacy-routes.ts';
import { v4Route } from './v4-routes.ts';

export type { IngestionEventRecord, ReceivedSpan } from './endpoints.ts';
export type { LangfuseFaults } from './faults.ts';
export { LANGFUSE_OPENAPI_FILE } from './openapi.ts';
export { LOCAL_PROJECT_ID } from './project-store.ts';
export type { CloudPlan, RateLimitOptions } from './rate-limits.ts';
export type { LangfuseServer, LangfuseServerOptions, LangfuseVersion } from './server-state.ts';
export type { LegacyExport } from './v4-store.ts';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** getLangfuseHeaderValue: the header, or its underscore spelling. */
const header = (req: IncomingMessage, name: string) => {
  const value = req.headers[name] ?? req.headers[name.replaceAll('-', '_')];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
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

export async function startLangfuseServer(
  options: LangfuseServerOptions = {},
): Promise<LangfuseServer> {
  const { state, held, received, generation } = createServerState(options);
  const { version, store, v4, clock, rateLimiter } = state;
  const expectedAuth = `Basic ${Buffer.from(`${state.publicKey}:${state.secretKey}`).toString('base64')}`;
  const hold = (req: IncomingMessage) => {
    held.add(req.socket);
    req.socket.once('close', () => held.delete(req.socket));
  };
  // Compiled before listening, so no request pays for reading the spec.
  ingestionEventValidator();

  /** What happens to an accepted OTLP export (otelIngestionQueue.ts in the worker). */
  function otelWriter(req: IncomingMessage) {
    if (version === 'v3') return (spans: OtlpResourceSpans[]) => store.ingestOtel(spans);
    const headers = {
      ingestionVersion: header(req, 'x-langfuse-ingestion-version'),
      sdkName: header(req, 'x-langfuse-sdk-name'),
      sdkVersion: header(req, 'x-langfuse-sdk-version'),
    };
    return (spans: OtlpResourceSpans[]) => {
      if (isDirectWrite(headers)) {
        v4.writeSpans(spans, clock.now());
        return;
      }
      const all = spans.flatMap((r) => (r?.scopeSpans ?? []).flatMap((s) => s?.spans ?? []));
      v4.recordLegacyExport({
        receivedAt: new Date(clock.now()).toISOString(),
        ...headers,
        traceIds: [...new Set(all.map((span) => parseId(span.traceId)))],
        spanCount: all.length,
      });
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const contentType = header(req, 'content-type');
    const body = await readBody(req);
    const record = (status: number) => state.requests.push({ path, status, contentType });

    if (method === 'GET' && path === '/_local/received') {
      send(res, { status: 200, body: received() });
      return;
    }
    // createAuthedProjectAPIRoute refuses these before it authenticates.
    const legacy = version === 'v4' ? legacyRouteAnswer(method, path) : undefined;
    if (legacy) {
      record(legacy.status);
      send(res, legacy);
      return;
    }
    const kind = routeKind(path, version);
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
    const faultContext = { faults, generation, record, hold };
    if (await injectFault(req, res, kind, faultContext)) return;
    const limited = rateLimiter.enabled ? rateLimitedRoute(method, path) : undefined;
    const limit = limited && rateLimiter.consume(limited.resource);
    if (limited && isRateLimited(limit)) {
      const { status, headers, body: answer } = rateLimitAnswer(limit, limited, clock.now());
      record(status);
      send(res, { status, body: answer }, headers);
      return;
    }
    let answer: Answer & { schema?: SpecSchemaName };
    const write = kind === 'ingestion' || kind === 'otel';
    if (write && method !== 'POST') {
      answer = {
        status: 405,
        body: { message: 'Method not allowed', error: 'MethodNotAllowedError' },
      };
    } else if (kind === 'ingestion') {
      const sink = version === 'v4' ? v4 : store;
      answer = ingestion(body, contentType, sink, state, faults.eventErrors, version === 'v4');
    } else if (kind === 'otel') {
      const headers = {
        contentType,
        contentEncoding: header(req, 'content-encoding'),
        ingestionVersion: header(req, 'x-langfuse-ingestion-version'),
      };
      answer = otelTraces(body, headers, otelWriter(req), state);
    } else if (method === 'POST' && path === '/api/public/scores') {
      answer = createScore(body, contentType, clock.now(), version === 'v4' ? v4 : store, state);
    } else {
      answer =
        (version === 'v4' ? v4Route(method, url, v4) : undefined) ?? readRoute(method, url, store);
      if (method === 'GET' && answer.status === 200 && answer.schema) {
        const validate = specValidator(answer.schema);
        // JSON round trip: validate exactly what goes on the wire.
        if (!validate(JSON.parse(JSON.stringify(answer.body)))) {
          state.invalidResponses.push({ path, errors: specErrors(validate) });
        }
      }
    }
    if (write && faults.beforeAnswer) {
      const arrivedIn = generation();
      await faults.beforeAnswer(kind);
      if (generation() !== arrivedIn) {
        req.socket.destroy();
        return;
      }
    }
    record(answer.status);
    send(res, answer);
  }

  const server = createServer(handle);
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
