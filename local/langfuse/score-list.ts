/**
 * GET /api/public/scores (v1) and GET /api/public/v2/scores, following
 * web/src/pages/api/public/scores/index.ts, v2/scores/index.ts,
 * web/src/features/public-api/server/scores-api-service.ts and
 * packages/shared/src/server/repositories/scores.ts
 * (_handleGenerateScoresForPublicApi) at commit 62751446.
 *
 * Two consequences worth knowing: v1 has no `traceId` filter (its query
 * schema drops the parameter), and whenever the trace is joined (v1 always;
 * v2 unless `fields=score`) a score whose trace Langfuse never stored is not
 * listed at all — the join is `(t.id, t.project_id) IN (...)`.
 */
import { z } from 'zod';
import type { StoredRecord } from './merge.ts';
import type { ProjectStore } from './project-store.ts';
import { LISTABLE_SCORE_TYPES, scoreV1, scoreV2 } from './views.ts';

const emptyAsUndefined = (x: unknown) => (x === '' ? undefined : x);
const stringOrList = z.union([z.array(z.string()), z.string()]).nullish();
const dateTime = z.iso.datetime({ offset: true }).nullish();

/** packages/shared/src/features/scores/interfaces/api/shared.ts GetScoresQuery (+ v2 filters). */
const ScoresQuery = z.object({
  page: z.preprocess(emptyAsUndefined, z.coerce.number().int().gt(0).default(1)),
  limit: z.preprocess(emptyAsUndefined, z.coerce.number().int().gte(1).lte(100).default(50)),
  userId: z.string().nullish(),
  name: z.string().nullish(),
  dataType: z.enum(['NUMERIC', 'CATEGORICAL', 'BOOLEAN', 'CORRECTION', 'TEXT']).nullish(),
  source: z.enum(['API', 'EVAL', 'ANNOTATION']).nullish(),
  environment: stringOrList,
  fromTimestamp: dateTime,
  toTimestamp: dateTime,
  scoreIds: z
    .string()
    .transform((ids) => ids.split(',').map((id) => id.trim()))
    .nullish(),
  fields: z
    .string()
    .nullish()
    .transform((v) =>
      v
        ? v
            .split(',')
            .map((f) => f.trim())
            .filter((f) => f === 'score' || f === 'trace')
        : null,
    ),
  traceId: z.string().nullish(),
  sessionId: z.string().nullish(),
});

/** URLSearchParams -> the object Next.js hands the route (repeated keys become arrays). */
function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = values.length > 1 ? values : (values[0] as string);
  }
  return out;
}

export class InvalidRequest extends Error {}

/** The list response; throws a ZodError or InvalidRequest for a 400. */
export function listScores(
  store: ProjectStore,
  version: 'v1' | 'v2',
  params: URLSearchParams,
): Record<string, unknown> {
  const query = ScoresQuery.parse(queryObject(params));
  const fields = version === 'v1' ? ['score', 'trace'] : (query.fields ?? ['score', 'trace']);
  if (!fields.includes('score')) throw new InvalidRequest('Scores needs to be selected always.');
  const includeTrace = fields.includes('trace');
  const traceFilters = Boolean(query.userId);
  if (version === 'v2' && !includeTrace && traceFilters) {
    throw new InvalidRequest(
      "Cannot filter by trace properties (userId, traceTags) when 'trace' field is not " +
        "included. Please add 'trace' to the fields parameter or remove trace filters.",
    );
  }
  const joinTrace = includeTrace || traceFilters;
  const environments = query.environment == null ? undefined : new Set([query.environment].flat());
  const ids = query.scoreIds ? new Set(query.scoreIds) : undefined;
  const from = query.fromTimestamp ? Date.parse(query.fromTimestamp) : undefined;
  const to = query.toTimestamp ? Date.parse(query.toTimestamp) : undefined;

  const matches = (s: StoredRecord, trace: StoredRecord | undefined) => {
    if (version === 'v1') {
      // scoreScope "traces_only" and LISTABLE_SCORE_TYPES.
      if (!s.trace_id || s.session_id != null || s.dataset_run_id != null) return false;
      if (!LISTABLE_SCORE_TYPES.has(s.data_type as string)) return false;
    }
    if (s.trace_id && joinTrace && !trace) return false;
    if (version === 'v2' && query.traceId != null && s.trace_id !== query.traceId) return false;
    if (version === 'v2' && query.sessionId != null && s.session_id !== query.sessionId)
      return false;
    if (query.name != null && s.name !== query.name) return false;
    if (query.source != null && s.source !== query.source) return false;
    if (query.dataType != null && s.data_type !== query.dataType) return false;
    if (environments && !environments.has(s.environment as string)) return false;
    if (ids && !ids.has(s.id)) return false;
    if (from !== undefined && (s.timestamp as number) < from) return false;
    if (to !== undefined && (s.timestamp as number) >= to) return false;
    if (query.userId != null && trace?.user_id !== query.userId) return false;
    if (traceFilters && environments && !environments.has(trace?.environment as string))
      return false;
    return true;
  };

  const rows = store
    .scoreRecords()
    .map((s) => ({ s, trace: s.trace_id ? store.traceRecord(s.trace_id as string) : undefined }))
    .filter(({ s, trace }) => matches(s, trace))
    .sort(
      (a, b) =>
        (b.s.timestamp as number) - (a.s.timestamp as number) ||
        (b.s.event_ts as number) - (a.s.event_ts as number),
    );
  const page = rows.slice((query.page - 1) * query.limit, query.page * query.limit);
  const data = page.flatMap(({ s, trace }) => {
    const traceData =
      includeTrace && s.trace_id != null
        ? {
            userId: trace?.user_id ?? null,
            tags: trace?.tags ?? [],
            environment: trace?.environment ?? null,
            ...(version === 'v2' ? { sessionId: trace?.session_id ?? null } : {}),
          }
        : null;
    const score = version === 'v1' ? scoreV1(s) : scoreV2(s);
    return score ? [{ ...score, trace: traceData }] : [];
  });
  return {
    data,
    meta: {
      page: query.page,
      limit: query.limit,
      totalItems: rows.length,
      totalPages: Math.ceil(rows.length / query.limit),
    },
  };
}
