/**
 * GET /api/public/v2/observations as Langfuse v4 answers it, ported at commit
 * 62751446 from web/src/pages/api/public/v2/observations/index.ts,
 * web/src/features/public-api/types/observations.ts (GetObservationsV2Query,
 * encodeCursor), packages/shared/src/server/repositories/events.ts
 * (getObservationsV2FromEventsTableForPublicApi, orderByForObservationsQuery,
 * applyObservationsCursorFilter, enrichObservationsWithModelData),
 * packages/shared/src/server/queries/public-api-filter-builder.ts
 * (createPublicApiObservationsColumnMapping) and the field sets of
 * packages/shared/src/server/queries/clickhouse-sql/event-query-builder.ts.
 *
 *  - No deduplication: every row of the events table is an observation.
 *  - Order: start time, xxHash32(trace id), span id, all descending; the
 *    cursor is base64 JSON of the last row's (startTime, traceId, id).
 *  - `fields` (default core,basic; unknown names dropped) picks the groups;
 *    core, latency, timeToFirstToken, modelId and the three prices are always
 *    there. input/output are the stored strings, never parsed.
 *  - Metadata values come from events_core, cut to 200 characters, unless
 *    `io` is requested or `expandMetadata` names any key (events_full).
 *
 * Not modelled: the `filter` JSON parameter (answered 501 by this server).
 */
import { z } from 'zod';
import type { Answer } from './endpoints.ts';
import { iso, isRoot, OBSERVATION_FIELD_GROUPS, observationV2 } from './observation-v2-view.ts';
import { InvalidRequest } from './score-list.ts';
import type { EventRecord } from './v4-events.ts';
import { xxHash32 } from './xxhash32.ts';

const OBSERVATION_TYPES = [
  'GENERATION',
  'SPAN',
  'EVENT',
  'AGENT',
  'TOOL',
  'CHAIN',
  'RETRIEVER',
  'EVALUATOR',
  'EMBEDDING',
  'GUARDRAIL',
] as const;

const split = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
const dateTime = z.iso.datetime({ offset: true }).nullish();

/** EncodedObservationsCursorV2: base64 JSON, a parse failure is an InvalidRequestError. */
const Cursor = z
  .string()
  .transform((value) => {
    try {
      return JSON.parse(Buffer.from(value, 'base64').toString('utf-8'));
    } catch {
      throw new InvalidRequest('Invalid cursor format');
    }
  })
  .pipe(
    z.object({ lastStartTimeTo: z.coerce.date(), lastTraceId: z.string(), lastId: z.string() }),
  );

/** GetObservationsV2Query, without the `filter` parameter. */
const Query = z.object({
  fields: z.preprocess(
    (v) =>
      v == null || v === ''
        ? undefined
        : typeof v === 'string'
          ? split(v).filter((g) => (OBSERVATION_FIELD_GROUPS as readonly string[]).includes(g))
          : v,
    z.array(z.enum(OBSERVATION_FIELD_GROUPS)).nullable().default(null),
  ),
  expandMetadata: z
    .string()
    .nullish()
    .transform((v) => (v && split(v).length > 0 ? split(v) : null)),
  limit: z.coerce.number().nonnegative().lte(1000).default(50),
  cursor: Cursor.optional(),
  parseIoAsJson: z
    .union([z.literal('true'), z.literal('false')])
    .refine((v) => v !== 'true', {
      message:
        'parseIoAsJson=true is no longer supported on the v2 observations endpoint. Input/output fields are always returned as raw strings. Remove the parseIoAsJson parameter or set it to false.',
    })
    .optional(),
  type: z.enum(OBSERVATION_TYPES).nullish(),
  name: z.string().nullish(),
  userId: z.string().nullish(),
  sessionId: z.string().nullish(),
  level: z.enum(['DEBUG', 'DEFAULT', 'WARNING', 'ERROR']).nullish(),
  traceId: z.string().nullish(),
  version: z.string().nullish(),
  parentObservationId: z.string().nullish(),
  isRootObservation: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  environment: z.union([z.array(z.string()), z.string()]).nullish(),
  fromStartTime: dateTime.optional(),
  toStartTime: dateTime.optional(),
});
type ObservationsQuery = z.infer<typeof Query>;

/** The simple filters of createPublicApiObservationsColumnMapping (exact matches). */
function matches(o: EventRecord, q: ObservationsQuery): boolean {
  const equal: [string | null | undefined, string][] = [
    [q.traceId, o.trace_id],
    [q.userId, o.user_id],
    [q.sessionId, o.session_id],
    [q.name, o.name],
    [q.level, o.level],
    [q.type, o.type],
    [q.parentObservationId, o.parent_span_id],
    [q.version, o.version],
  ];
  if (equal.some(([wanted, actual]) => wanted != null && wanted !== actual)) return false;
  if (q.isRootObservation !== undefined && isRoot(o) !== q.isRootObservation) return false;
  if (q.environment != null && ![q.environment].flat().includes(o.environment)) return false;
  if (q.fromStartTime && o.start_time < Date.parse(q.fromStartTime)) return false;
  if (q.toStartTime && o.start_time >= Date.parse(q.toStartTime)) return false;
  return true;
}

type SortKey = [number, number, string];
const sortKey = (o: EventRecord): SortKey => [o.start_time, xxHash32(o.trace_id), o.span_id];
/** Tuple comparison, as ClickHouse compares (start_time, xxHash32(trace_id), span_id). */
function compare(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] - b[1];
  return a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0;
}

/** GET /api/public/v2/observations; throws ZodError / InvalidRequest for a 400. */
export function listObservationsV2(
  rows: readonly EventRecord[],
  params: URLSearchParams,
): Answer & { schema?: 'ObservationsV2Response' } {
  if (params.get('filter')) {
    const message = 'Not modelled by the local Langfuse server: the `filter` parameter';
    return { status: 501, body: { message, error: 'NotImplemented' } };
  }
  const q = Query.parse(queryObject(params));
  const groups = q.fields ?? ['core', 'basic'];
  const fullMetadata = groups.includes('io') || (q.expandMetadata?.length ?? 0) > 0;
  const cursor = q.cursor
    ? ([
        q.cursor.lastStartTimeTo.getTime(),
        xxHash32(q.cursor.lastTraceId),
        q.cursor.lastId,
      ] as SortKey)
    : undefined;
  const selected = rows
    .filter((o) => matches(o, q))
    .map((o) => ({ o, key: sortKey(o) }))
    .filter(({ key }) => !cursor || compare(key, cursor) < 0)
    .sort((a, b) => compare(b.key, a.key))
    .slice(0, q.limit + 1)
    .map(({ o }) => o);
  const page = selected.slice(0, q.limit);
  // LEFT ANY JOIN on (start_time, trace_id, span_id): duplicates share one events_full row.
  const rowKey = (o: EventRecord) => JSON.stringify([o.start_time, o.trace_id, o.span_id]);
  const firstWritten = new Map<string, EventRecord>();
  if (fullMetadata) {
    for (const r of rows) if (!firstWritten.has(rowKey(r))) firstWritten.set(rowKey(r), r);
  }
  const data = page.map((o) =>
    observationV2(o, groups, fullMetadata, firstWritten.get(rowKey(o)) ?? o),
  );
  const last = page.at(-1);
  const meta =
    selected.length > q.limit && last
      ? {
          cursor: Buffer.from(
            JSON.stringify({
              lastStartTimeTo: iso(last.start_time),
              lastTraceId: last.trace_id,
              lastId: last.span_id,
            }),
          ).toString('base64'),
        }
      : {};
  return { status: 200, body: { data, meta }, schema: 'ObservationsV2Response' };
}

/** URLSearchParams -> the object Next.js hands the route (repeated keys become arrays). */
export function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = values.length > 1 ? values : (values[0] as string);
  }
  return out;
}
