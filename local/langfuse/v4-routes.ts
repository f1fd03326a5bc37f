/**
 * The routes a Langfuse v4 server answers from its events and scores tables
 * (the legacy ones are refused first, v4-legacy-routes.ts):
 *
 *  - GET /api/public/v2/observations (observations-v2.ts);
 *  - GET /api/public/v3/scores (scores-v3.ts);
 *  - DELETE /api/public/scores/{scoreId}: web/src/pages/api/public/scores/
 *    [scoreId].ts has no `rejectInEventsOnlyMode` on DELETE, so it still
 *    queues the deletion and answers 202, whether or not the score exists.
 *
 * Anything else falls through to the v3 route table (read-routes.ts), which
 * answers 405 for the methods those routes do not have.
 */
import type { Answer } from './endpoints.ts';
import { listObservationsV2 } from './observations-v2.ts';
import type { SpecSchemaName } from './openapi.ts';
import { clientError, methodNotAllowed } from './read-routes.ts';
import { listScoresV3 } from './scores-v3.ts';
import type { V4Store } from './v4-store.ts';

export function v4Route(
  method: string,
  url: URL,
  store: V4Store,
): (Answer & { schema?: SpecSchemaName }) | undefined {
  const path = url.pathname;
  try {
    if (path === '/api/public/v2/observations') {
      return method === 'GET'
        ? listObservationsV2(store.observations, url.searchParams)
        : methodNotAllowed;
    }
    if (path === '/api/public/v3/scores') {
      return method === 'GET' ? listScoresV3(store.scores(), url.searchParams) : methodNotAllowed;
    }
  } catch (error) {
    return clientError(error);
  }
  const deleted = /^\/api\/public\/scores\/([^/]+)$/.exec(path)?.[1];
  if (method === 'DELETE' && deleted) {
    store.deleteScore(decodeURIComponent(deleted));
    return { status: 202, body: { message: 'Score deletion queued successfully' } };
  }
  return undefined;
}
