/**
 * What a Langfuse v4 server answers on the legacy (v3) routes that read the
 * traces / observations tables or write to them, at commit 62751446:
 *
 *  - web/src/features/public-api/server/createAuthedProjectAPIRoute.ts: a
 *    route configured with `rejectInEventsOnlyMode` answers 404 with the
 *    message below when LANGFUSE_MIGRATION_V4_WRITE_MODE is "events_only"
 *    (the default of web/src/env.mjs and worker/src/env.ts for v4). The check
 *    runs first, before authentication and the rate limiter.
 *  - The same answer carries `_deprecation` (attachDeprecation) when the
 *    route has a `deprecation` and NEXT_PUBLIC_LANGFUSE_CLOUD_REGION is set,
 *    i.e. on Langfuse Cloud; the values are those of
 *    web/src/features/public-api/server/deprecations.ts.
 *  - Which route and method: the `rejectInEventsOnlyMode: true` handlers
 *    under web/src/pages/api/public/ (listed in LEGACY_ROUTES).
 */
import type { Answer } from './endpoints.ts';

const V3_NOTICE =
  'On Langfuse Cloud, Langfuse v3 is deprecated and this endpoint will be removed on November 16, 2026.';
const SUNSET_AT = '2026-11-16';
const OBSERVATIONS_V2 = 'GET /api/public/v2/observations?fromStartTime=<from>&toStartTime=<to>';
const OBSERVATIONS_V2_BY_SESSION =
  'GET /api/public/v2/observations?filter=<urlencoded sessionId filter>&fromStartTime=<from>&toStartTime=<to>';
const OBSERVATIONS_DOCS =
  'https://langfuse.com/docs/api-and-data-platform/features/observations-api';

interface Deprecation {
  message: string;
  replacement: string;
  docsUrl: string;
  sunsetAt: string;
}
const deprecation = (message: string, replacement: string, docsUrl: string): Deprecation => ({
  message: `${V3_NOTICE} ${message}`,
  replacement,
  docsUrl,
  sunsetAt: SUNSET_AT,
});
const OBSERVATIONS_V1 = deprecation(
  `Use ${OBSERVATIONS_V2} instead.`,
  OBSERVATIONS_V2,
  OBSERVATIONS_DOCS,
);
const TRACES = deprecation(
  `In Langfuse v4, read span and trace data via ${OBSERVATIONS_V2}.`,
  OBSERVATIONS_V2,
  OBSERVATIONS_DOCS,
);
const SESSIONS = deprecation(
  `In Langfuse v4, read session data via ${OBSERVATIONS_V2_BY_SESSION}.`,
  OBSERVATIONS_V2_BY_SESSION,
  OBSERVATIONS_DOCS,
);
const SCORES = deprecation(
  'Use GET /api/public/v3/scores instead.',
  'GET /api/public/v3/scores',
  'https://langfuse.com/docs/api-and-data-platform/features/scores-api',
);
const METRICS = deprecation(
  'Use GET /api/public/v2/metrics?query=<urlencoded json query> instead.',
  'GET /api/public/v2/metrics?query=<urlencoded json query>',
  'https://langfuse.com/docs/metrics/features/metrics-api',
);

/** [path pattern, method, deprecation] for every handler with `rejectInEventsOnlyMode`. */
const LEGACY_ROUTES: [RegExp, string, Deprecation | undefined][] = [
  [/^\/api\/public\/traces$/, 'GET', TRACES],
  [/^\/api\/public\/traces$/, 'POST', undefined],
  [/^\/api\/public\/traces\/[^/]+$/, 'GET', TRACES],
  [/^\/api\/public\/observations$/, 'GET', OBSERVATIONS_V1],
  [/^\/api\/public\/observations\/[^/]+$/, 'GET', OBSERVATIONS_V1],
  [/^\/api\/public\/sessions$/, 'GET', SESSIONS],
  [/^\/api\/public\/sessions\/[^/]+$/, 'GET', SESSIONS],
  [/^\/api\/public\/(v2\/)?scores(\/[^/]+)?$/, 'GET', SCORES],
  [/^\/api\/public\/metrics$/, 'GET', METRICS],
  [/^\/api\/public\/metrics\/daily$/, 'GET', METRICS],
  [/^\/api\/public\/events$/, 'POST', undefined],
  [/^\/api\/public\/(generations|spans)$/, 'POST', undefined],
  [/^\/api\/public\/(generations|spans)$/, 'PATCH', undefined],
];

export const EVENTS_ONLY_NOT_AVAILABLE =
  'This endpoint is not available on deployments running in Langfuse v4 events_only mode. Learn more about Langfuse v4 at: https://langfuse.com/docs/v4';

/** The 404 a v4 server answers for this request, or undefined when the route is not a legacy one. */
export function legacyRouteAnswer(method: string, path: string): Answer | undefined {
  const route = LEGACY_ROUTES.find(([pattern, m]) => m === method && pattern.test(path));
  if (!route) return undefined;
  const [, , routeDeprecation] = route;
  const body = routeDeprecation
    ? { message: EVENTS_ONLY_NOT_AVAILABLE, _deprecation: routeDeprecation }
    : { message: EVENTS_ONLY_NOT_AVAILABLE };
  return { status: 404, body };
}
