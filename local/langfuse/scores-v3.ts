/**
 * GET /api/public/v3/scores, ported at commit 62751446 from
 * web/src/pages/api/public/v3/scores/index.ts (query refinements),
 * packages/shared/src/features/scores/interfaces/api/v3/ (GetScoresQueryV3,
 * APIScoreSchemaV3, filterAndValidateV3GetScoreList) and
 * packages/shared/src/server/repositories/scores.ts (buildV3ListQuery,
 * buildDynamicFilters, scoreDomainToV3, polymorphicValueForV3, cursor helpers).
 *
 *  - Filters are "any of" lists (comma-separated); unknown query parameters
 *    are a 400 (the schema is strict); userId / traceTags are refused.
 *  - `ORDER BY timestamp DESC, id DESC, event_ts DESC LIMIT 1 BY id`: one row
 *    per score id after the filters, the latest-dated one. A score id stored
 *    under two dates (two scores for Langfuse) lists once unless a timestamp
 *    filter separates them.
 *  - `fields` (default core) adds details (comment, configId, metadata),
 *    annotation (authorUserId, queueId) and subject; unknown groups are a 400.
 */
import { z } from 'zod';
import type { Answer } from './endpoints.ts';
import type { StoredRecord } from './merge.ts';
import { queryObject } from './observations-v2.ts';
import { InvalidRequest } from './score-list.ts';
import { parseJsonPrioritised } from './views.ts';

const GROUPS = ['core', 'details', 'subject', 'annotation'] as const;
const SOURCES = ['API', 'EVAL', 'ANNOTATION'] as const;
const DATA_TYPES = ['NUMERIC', 'CATEGORICAL', 'BOOLEAN', 'CORRECTION', 'TEXT'] as const;
const split = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
const list = z
  .string()
  .nullish()
  .transform((v) => (v && split(v).length > 0 ? split(v) : undefined));
const enumList = (allowed: readonly string[], label: string) =>
  z
    .string()
    .transform((v) => split(v).map((item) => item.toUpperCase()))
    .pipe(
      z.array(z.string()).superRefine((values, ctx) => {
        for (const v of values) {
          if (!allowed.includes(v)) {
            ctx.addIssue({
              code: 'custom',
              message: `Invalid ${label} value: "${v}". Allowed: ${allowed.join(', ')}`,
            });
          }
        }
      }),
    )
    .optional();
const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);

const Cursor = z
  .string()
  .transform((value) => {
    try {
      return JSON.parse(Buffer.from(value, 'base64url').toString('utf-8'));
    } catch {
      throw new InvalidRequest('Invalid cursor format');
    }
  })
  .pipe(z.object({ v: z.literal(1), lastTimestamp: z.coerce.date(), lastId: z.string() }));

/** GetScoresQueryV3 + cursor, with the route's superRefine (the refinements used here). */
const Query = z
  .object({
    limit: z.preprocess(emptyAsUndefined, z.coerce.number().int().gte(1).lte(100).default(50)),
    fields: z.preprocess(
      (v) => (v == null || v === '' ? undefined : typeof v === 'string' ? split(v) : v),
      z.array(z.enum(GROUPS)).default(['core']),
    ),
    cursor: Cursor.optional(),
    id: list,
    name: list,
    source: enumList(SOURCES, 'source'),
    dataType: enumList(DATA_TYPES, 'dataType'),
    environment: list,
    configId: list,
    queueId: list,
    authorUserId: list,
    value: list,
    valueMin: z.preprocess(emptyAsUndefined, z.coerce.number().optional()),
    valueMax: z.preprocess(emptyAsUndefined, z.coerce.number().optional()),
    traceId: list,
    sessionId: list,
    observationId: list,
    experimentId: list,
    fromTimestamp: z.preprocess(emptyAsUndefined, z.coerce.date().optional()),
    toTimestamp: z.preprocess(emptyAsUndefined, z.coerce.date().optional()),
    userId: z
      .string()
      .optional()
      .transform((v) => (v === '' ? undefined : v)),
    traceTags: z
      .string()
      .optional()
      .transform((v) => (v === '' ? undefined : v)),
  })
  .strict()
  .superRefine((data, ctx) => {
    for (const key of ['userId', 'traceTags'] as const) {
      if (data[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `${key} filter requires a trace JOIN and is not supported in v3 — use v2 or omit this filter`,
        });
      }
    }
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message });
    const single = data.dataType?.length === 1 ? data.dataType[0] : undefined;
    if (data.value?.length) {
      if (!single) {
        issue('value filter requires a single dataType from: NUMERIC, BOOLEAN, CATEGORICAL');
      } else if (!['NUMERIC', 'BOOLEAN', 'CATEGORICAL'].includes(single)) {
        issue(
          `value filter requires dataType to be NUMERIC, BOOLEAN, or CATEGORICAL (got "${single}")`,
        );
      } else {
        for (const v of data.value) {
          if (single === 'NUMERIC' && !Number.isFinite(Number(v))) {
            issue(
              `value filter with dataType=NUMERIC requires each value to be a finite number (got "${v}")`,
            );
          }
          if (single === 'BOOLEAN' && v !== 'true' && v !== 'false') {
            issue(
              `value filter with dataType=BOOLEAN requires each value to be "true" or "false" (got "${v}")`,
            );
          }
        }
      }
    }
    if ((data.valueMin !== undefined || data.valueMax !== undefined) && single !== 'NUMERIC') {
      issue('valueMin and valueMax require dataType=NUMERIC as a single value');
    }
    if (data.observationId?.length && !data.traceId?.length) {
      ctx.addIssue({
        code: 'custom',
        message: 'observationId filter requires traceId — observation IDs are scoped to a trace',
      });
    }
    if ([data.traceId, data.sessionId, data.experimentId].filter((a) => a?.length).length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'At most one of traceId, sessionId, experimentId may be specified',
      });
    }
  });
type ScoresQuery = z.infer<typeof Query>;

const Subject = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('trace'), id: z.string() }),
  z.object({ kind: z.literal('observation'), id: z.string(), traceId: z.string().optional() }),
  z.object({ kind: z.literal('session'), id: z.string() }),
  z.object({ kind: z.literal('experiment'), id: z.string() }),
]);
const Foundation = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  source: z.enum(SOURCES),
  timestamp: z.coerce.date(),
  environment: z.string(),
  createdAt: z.coerce.date(),
  updatedAt: z.coerce.date(),
  comment: z.string().nullable().optional(),
  configId: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  authorUserId: z.string().nullable().optional(),
  queueId: z.string().nullable().optional(),
  subject: Subject.optional(),
});
/** APIScoreSchemaV3: parsing also fixes the key order of the answer. */
const ScoreV3 = z.discriminatedUnion('dataType', [
  Foundation.extend({ dataType: z.literal('NUMERIC'), value: z.number() }),
  Foundation.extend({ dataType: z.literal('BOOLEAN'), value: z.boolean() }),
  Foundation.extend({ dataType: z.literal('CATEGORICAL'), value: z.string() }),
  Foundation.extend({ dataType: z.literal('TEXT'), value: z.string() }),
  Foundation.extend({ dataType: z.literal('CORRECTION'), value: z.string() }),
]);

/** buildDynamicFilters. */
function matches(s: StoredRecord, q: ScoresQuery): boolean {
  const anyOf: [string[] | undefined, unknown][] = [
    [q.id, s.id],
    [q.name, s.name],
    [q.source, s.source],
    [q.dataType, s.data_type],
    [q.environment, s.environment],
    [q.configId, s.config_id],
    [q.queueId, s.queue_id],
    [q.authorUserId, null],
    [q.traceId, s.trace_id],
    [q.sessionId, s.session_id],
    [q.observationId, s.observation_id],
    [q.experimentId, s.dataset_run_id],
  ];
  if (anyOf.some(([values, actual]) => values && !values.includes(actual as string))) return false;
  const time = s.timestamp as number;
  if (q.fromTimestamp && time < q.fromTimestamp.getTime()) return false;
  if (q.toTimestamp && time >= q.toTimestamp.getTime()) return false;
  if (q.valueMin !== undefined && (s.value as number) < q.valueMin) return false;
  if (q.valueMax !== undefined && (s.value as number) > q.valueMax) return false;
  if (q.value?.length && q.dataType?.length === 1) {
    const dataType = q.dataType[0];
    if (dataType === 'CATEGORICAL') return q.value.includes(s.string_value as string);
    const wanted = q.value.map((v) => (dataType === 'BOOLEAN' ? Number(v === 'true') : Number(v)));
    return wanted.includes(s.value as number);
  }
  return true;
}

/** convertClickhouseScoreToDomain + scoreDomainToV3 (polymorphicValueForV3, deriveSubjectForV3). */
function scoreV3(s: StoredRecord, fields: readonly string[]): Record<string, unknown> {
  const dataType = s.data_type as string;
  const value =
    dataType === 'NUMERIC'
      ? s.value
      : dataType === 'BOOLEAN'
        ? s.value === 1
        : dataType === 'CORRECTION'
          ? (s.long_string_value ?? '')
          : s.string_value;
  const subject = s.dataset_run_id
    ? { kind: 'experiment', id: s.dataset_run_id }
    : s.observation_id
      ? {
          kind: 'observation',
          id: s.observation_id,
          ...(s.trace_id ? { traceId: s.trace_id } : {}),
        }
      : s.session_id
        ? { kind: 'session', id: s.session_id }
        : { kind: 'trace', id: s.trace_id };
  const metadata = Object.fromEntries(
    Object.entries((s.metadata ?? {}) as Record<string, string>).map(([k, v]) => [
      k,
      v === null ? null : parseJsonPrioritised(v),
    ]),
  );
  return {
    id: s.id,
    projectId: s.project_id,
    name: s.name,
    dataType,
    value,
    source: s.source,
    timestamp: new Date(s.timestamp as number),
    environment: s.environment,
    createdAt: new Date(s.created_at as number),
    updatedAt: new Date(s.updated_at as number),
    ...(fields.includes('details')
      ? { comment: s.comment ?? null, configId: s.config_id ?? null, metadata }
      : {}),
    ...(fields.includes('annotation') ? { authorUserId: null, queueId: s.queue_id ?? null } : {}),
    ...(fields.includes('subject') ? { subject } : {}),
  };
}

/** GET /api/public/v3/scores; throws ZodError / InvalidRequest for a 400. */
export function listScoresV3(
  scores: readonly StoredRecord[],
  params: URLSearchParams,
): Answer & { schema?: 'GetScoresV3Response' } {
  const q = Query.parse(queryObject(params));
  const cursor = q.cursor;
  const byOrder = (a: StoredRecord, b: StoredRecord) =>
    (b.timestamp as number) - (a.timestamp as number) ||
    (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) ||
    (b.event_ts as number) - (a.event_ts as number);
  const seen = new Set<string>();
  const rows = scores
    .filter((s) => matches(s, q))
    .filter(
      (s) =>
        !cursor ||
        (s.timestamp as number) < cursor.lastTimestamp.getTime() ||
        ((s.timestamp as number) === cursor.lastTimestamp.getTime() && s.id < cursor.lastId),
    )
    .sort(byOrder)
    .filter((s) => !seen.has(s.id) && Boolean(seen.add(s.id)))
    .slice(0, q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > q.limit && last
      ? Buffer.from(
          JSON.stringify({
            v: 1,
            lastTimestamp: new Date(last.timestamp as number).toISOString(),
            lastId: last.id,
          }),
        ).toString('base64url')
      : undefined;
  // filterAndValidateV3GetScoreList: a row that fails the schema is dropped (and logged).
  const data = page.flatMap((s) => {
    const parsed = ScoreV3.safeParse(scoreV3(s, q.fields));
    return parsed.success ? [parsed.data] : [];
  });
  const meta = { limit: q.limit, ...(nextCursor ? { cursor: nextCursor } : {}) };
  return { status: 200, body: { data, meta }, schema: 'GetScoresV3Response' };
}
