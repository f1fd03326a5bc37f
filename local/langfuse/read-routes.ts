/**
 * The public read (and score delete) routes, as web/src/pages/api/public/*
 * answer them at commit 62751446: traces/[traceId].ts, scores/index.ts,
 * scores/[scoreId].ts (DELETE answers 202 — the deletion is queued),
 * v2/scores/index.ts, v2/scores/[scoreId].ts, sessions/[sessionId].ts.
 * Errors use withMiddlewares' shape: `{ message, error }`.
 */
import { ZodError } from 'zod';
import type { Answer } from './endpoints.ts';
import type { SpecSchemaName } from './openapi.ts';
import type { ProjectStore } from './project-store.ts';
import { InvalidRequest, listScores } from './score-list.ts';
import { scoreV1, scoreV2, sessionWithTraces, traceWithFullDetails } from './views.ts';

export type RouteKind = 'ingestion' | 'otel' | 'traces' | 'scores' | 'sessions' | 'observations';

const ROUTES: [RegExp, RouteKind][] = [
  [/^\/api\/public\/ingestion$/, 'ingestion'],
  [/^\/api\/public\/otel\/v1\/traces$/, 'otel'],
  [/^\/api\/public\/traces\/[^/]+$/, 'traces'],
  [/^\/api\/public\/(v2\/)?scores(\/[^/]+)?$/, 'scores'],
  [/^\/api\/public\/sessions\/[^/]+$/, 'sessions'],
];
/** The read APIs of Langfuse v4 (v4-routes.ts); a v3 server has neither. */
const V4_ROUTES: [RegExp, RouteKind][] = [
  [/^\/api\/public\/v2\/observations$/, 'observations'],
  [/^\/api\/public\/v3\/scores$/, 'scores'],
];

export function routeKind(path: string, version: 'v3' | 'v4' = 'v3'): RouteKind | undefined {
  const routes = version === 'v4' ? [...ROUTES, ...V4_ROUTES] : ROUTES;
  return routes.find(([pattern]) => pattern.test(path))?.[1];
}

/** withMiddlewares: a ZodError or an InvalidRequestError is a 400; anything else is thrown on. */
export function clientError(error: unknown): Answer {
  if (error instanceof ZodError) {
    return { status: 400, body: { message: 'Invalid request data', error: error.issues } };
  }
  if (error instanceof InvalidRequest) {
    return { status: 400, body: { message: error.message, error: 'InvalidRequestError' } };
  }
  throw error;
}

const notFound = (message: string): Answer => ({
  status: 404,
  body: { message, error: 'LangfuseNotFoundError' },
});
export const methodNotAllowed: Answer = {
  status: 405,
  body: { message: 'Method not allowed', error: 'MethodNotAllowedError' },
};
const ok = (body: unknown, schema: SpecSchemaName) => ({ status: 200, body, schema });

/** One read route; `schema` names the spec response schema a 200 must satisfy. */
export function readRoute(
  method: string,
  url: URL,
  store: ProjectStore,
): Answer & { schema?: SpecSchemaName } {
  const segments = url.pathname.split('/').slice(3).map(decodeURIComponent);
  const [first, second, third] = segments;
  try {
    if (first === 'traces' && second) {
      if (method !== 'GET') return methodNotAllowed;
      const trace = traceWithFullDetails(store, second);
      return trace
        ? ok(trace, 'TraceWithFullDetails')
        : notFound(`Trace ${second} not found within authorized project`);
    }
    if (first === 'sessions' && second) {
      if (method !== 'GET') return methodNotAllowed;
      const session = sessionWithTraces(store, second);
      return session
        ? ok(session, 'SessionWithTraces')
        : notFound('Session not found within authorized project');
    }
    const version = first === 'v2' ? 'v2' : 'v1';
    const scoreId = version === 'v2' ? third : second;
    if (!scoreId) {
      if (method !== 'GET') return methodNotAllowed;
      return ok(listScores(store, version, url.searchParams), 'GetScoresResponse');
    }
    if (method === 'DELETE' && version === 'v1') {
      // ScoresApiService.deleteScore queues the deletion, and answers so whether the score exists.
      store.deleteScore(scoreId);
      return { status: 202, body: { message: 'Score deletion queued successfully' } };
    }
    if (method !== 'GET') return methodNotAllowed;
    const record = store.scores.get(scoreId)?.record;
    const score = record && (version === 'v1' ? scoreV1(record) : scoreV2(record));
    if (!score) return notFound('Score not found');
    return ok(score, version === 'v1' ? 'ScoreV1' : 'Score');
  } catch (error) {
    return clientError(error);
  }
}
