/**
 * What a Langfuse user reads back: stored records turned into the public API
 * shapes. Ported at commit 62751446 from
 *  - web/src/pages/api/public/traces/[traceId].ts (latency, totalCost, htmlPath,
 *    the 1-hour windows for observations and scores),
 *  - packages/shared/src/server/repositories/traces_converters.ts,
 *    observations_converters.ts (convertObservationPartial,
 *    reduceUsageOrCostDetails), scores_converters.ts,
 *  - web/src/features/public-api/types/observations.ts transformDbToApiObservation,
 *  - packages/shared/src/server/utils/rendering.ts + utils/json.ts (stored
 *    strings are JSON-parsed on the way out: "123" reads back as 123).
 */
import type { StoredRecord } from './merge.ts';
import type { ProjectStore } from './project-store.ts';

type Json = Record<string, unknown>;

/** lossless-json isSafeNumber: the significant digits survive a round trip via a double. */
const digits = (n: string) =>
  n
    .replace(/^-/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+|0+$/g, '');
const isSafeNumber = (source: string) =>
  digits(source) === digits(String(Number.parseFloat(source)));

/**
 * utils/json.ts parseJsonPrioritised: JSON if it parses, else the string itself.
 * Unsafe numbers keep their source text where the runtime passes it to the
 * reviver (Node >= 21; on Node 20 they round like plain JSON.parse, as Langfuse
 * documents for such runtimes).
 */
export function parseJsonPrioritised(json: string): unknown {
  try {
    if (!/[\d.]{13,}|\d[eE]/.test(json)) return JSON.parse(json);
    return JSON.parse(json, (_key, value, context?: { source?: string }) =>
      typeof value === 'number' && context?.source !== undefined && !isSafeNumber(context.source)
        ? context.source
        : value,
    );
  } catch {
    return json;
  }
}

/** rendering.ts applyInputOutputRendering: empty -> null, else parsed. */
const render = (io: unknown) => (io ? (parseJsonPrioritised(io as string) ?? null) : null);

/** metadata_conversion.ts parseMetadataCHRecordToDomain: every stored value parsed. */
const metadataView = (metadata: unknown): Json =>
  Object.fromEntries(
    Object.entries((metadata ?? {}) as Record<string, string | null>).map(([key, value]) => [
      key,
      value === null ? null : parseJsonPrioritised(value),
    ]),
  );

const date = (ms: unknown) => (ms == null ? null : new Date(ms as number).toISOString());

/** ClickHouse keeps costs as Decimal64(12) and usage as UInt64. */
const numbers = (details: unknown, decimals?: number): Record<string, number> =>
  Object.fromEntries(
    Object.entries((details ?? {}) as Record<string, number>).map(([key, value]) => [
      key,
      decimals === undefined ? Number(value) : Number(Number(value).toFixed(decimals)),
    ]),
  );

/**
 * observations_converters.ts reduceUsageOrCostDetails: the values of keys
 * containing input / output summed; total as given, or 0.
 */
function reduce(details: Record<string, number>) {
  const sum = (part: string) =>
    Object.entries(details)
      .filter(([key]) => key.includes(part))
      .reduce<number | null>((acc, [, value]) => (acc ?? 0) + Number(value), null);
  return { input: sum('input'), output: sum('output'), total: Number(details.total ?? 0) };
}

/** traces_converters.ts convertClickhouseToDomain. */
export function traceDomain(t: StoredRecord): Json {
  return {
    id: t.id,
    projectId: t.project_id,
    name: t.name ?? null,
    timestamp: date(t.timestamp),
    environment: t.environment,
    tags: t.tags ?? [],
    bookmarked: t.bookmarked ?? false,
    release: t.release ?? null,
    version: t.version ?? null,
    userId: t.user_id ?? null,
    sessionId: t.session_id ?? null,
    public: t.public ?? false,
    input: render(t.input),
    output: render(t.output),
    metadata: metadataView(t.metadata),
    createdAt: date(t.created_at),
    updatedAt: date(t.updated_at),
  };
}

/**
 * convertObservation + transformDbToApiObservation, with the prices the trace
 * endpoint attaches (0 when no model of Langfuse's price table matched; the
 * local server has no price table, so always 0 and modelId null).
 */
export function observationView(o: StoredRecord): Json {
  const usageDetails = numbers(o.usage_details);
  const costDetails = numbers(o.cost_details, 12);
  const usage = reduce(usageDetails);
  const cost = reduce(costDetails);
  const start = o.start_time as number;
  const seconds = (ms: unknown) => (ms && start ? ((ms as number) - start) / 1000 : null);
  const tokens = { input: usage.input ?? 0, output: usage.output ?? 0, total: usage.total ?? 0 };
  return {
    id: o.id,
    traceId: o.trace_id ?? null,
    startTime: date(start),
    endTime: o.end_time ? date(o.end_time) : null,
    projectId: o.project_id,
    parentObservationId: o.parent_observation_id ?? null,
    type: o.type,
    environment: o.environment ?? '',
    name: o.name ?? null,
    level: o.level ?? 'DEFAULT',
    statusMessage: o.status_message ?? null,
    version: o.version ?? null,
    createdAt: date(o.created_at),
    updatedAt: date(o.updated_at),
    input: render(o.input),
    output: render(o.output),
    metadata: metadataView(o.metadata),
    model: o.provided_model_name ?? null,
    modelParameters: o.model_parameters ? (render(o.model_parameters) ?? null) : null,
    completionStartTime: o.completion_start_time ? date(o.completion_start_time) : null,
    // IngestionService.getPrompt links a prompt only if it exists in the project: never here.
    promptId: null,
    promptName: null,
    promptVersion: null,
    latency: seconds(o.end_time),
    timeToFirstToken: seconds(o.completion_start_time),
    usageDetails,
    costDetails,
    usagePricingTierId: null,
    usagePricingTierName: null,
    calculatedInputCost: cost.input,
    calculatedOutputCost: cost.output,
    calculatedTotalCost: cost.total,
    unit: 'TOKENS',
    inputPrice: 0,
    outputPrice: 0,
    totalPrice: 0,
    promptTokens: tokens.input,
    completionTokens: tokens.output,
    totalTokens: tokens.total,
    modelId: null,
    usage: { unit: 'TOKENS', ...tokens },
  };
}

export const LISTABLE_SCORE_TYPES = new Set(['NUMERIC', 'BOOLEAN', 'CATEGORICAL', 'TEXT']);

/** scores_converters.ts convertClickhouseScoreToDomain + scores.ts convertScoreToPublicApi. */
function scoreApi(s: StoredRecord): Json {
  const score: Json = {
    id: s.id,
    timestamp: date(s.timestamp),
    projectId: s.project_id,
    environment: s.environment,
    traceId: s.trace_id ?? null,
    sessionId: s.session_id ?? null,
    observationId: s.observation_id ?? null,
    datasetRunId: s.dataset_run_id ?? null,
    name: s.name,
    value: s.value,
    source: s.source,
    comment: s.comment ?? null,
    authorUserId: null,
    configId: s.config_id ?? null,
    dataType: s.data_type,
    queueId: s.queue_id ?? null,
    executionTraceId: s.execution_trace_id ?? null,
    createdAt: date(s.created_at),
    updatedAt: date(s.updated_at),
    metadata: metadataView(s.metadata),
    stringValue: s.data_type === 'NUMERIC' ? null : (s.string_value ?? null),
  };
  if (s.data_type === 'CORRECTION') score.stringValue = s.long_string_value ?? '';
  if (s.data_type === 'TEXT') delete score.value;
  return score;
}

/**
 * The v1 score shape (APIScoreSchemaV1, which strips sessionId/datasetRunId),
 * or undefined where that schema refuses it (no traceId).
 */
export function scoreV1(s: StoredRecord): Json | undefined {
  if (typeof s.trace_id !== 'string' || !LISTABLE_SCORE_TYPES.has(s.data_type as string))
    return undefined;
  const { sessionId: _s, datasetRunId: _d, ...v1 } = scoreApi(s);
  return v1;
}

/** The v2 score shape (APIScoreSchemaV2). */
export const scoreV2 = (s: StoredRecord): Json => scoreApi(s);

/** Sum as Decimal.js would: exactly, at ClickHouse's 12 decimals. */
const decimalSum = (values: number[]) =>
  Number(values.reduce((sum, v) => sum + BigInt(Math.round(v * 1e12)), 0n)) / 1e12;

/** GET /api/public/traces/{traceId}: TraceWithFullDetails, or undefined (404). */
export function traceWithFullDetails(store: ProjectStore, traceId: string): Json | undefined {
  const trace = store.traceRecord(traceId);
  if (!trace) return undefined;
  // TRACE_TO_OBSERVATIONS_INTERVAL, SCORE_TO_TRACE_OBSERVATIONS_INTERVAL: 1 hour before the trace.
  const since = (trace.timestamp as number) - 3_600_000;
  const rows = store.observationsOfTrace(traceId).filter((o) => (o.start_time as number) >= since);
  const observations = rows.map(observationView);
  const scores = store
    .scoresOfTrace(traceId)
    .filter((s) => (s.timestamp as number) >= since)
    .flatMap((s) => scoreV1(s) ?? []);
  const starts = rows.map((o) => o.start_time as number).sort((a, b) => a - b);
  const ends = rows
    .flatMap((o) => (o.end_time ? [o.end_time as number] : []))
    .sort((a, b) => a - b);
  const latencyMs =
    starts.length === 0
      ? undefined
      : ends.length > 0
        ? (ends.at(-1) as number) - (starts[0] as number)
        : starts.length > 1
          ? (starts.at(-1) as number) - (starts[0] as number)
          : undefined;
  return {
    ...traceDomain(trace),
    externalId: null,
    scores,
    latency: latencyMs !== undefined ? latencyMs / 1000 : 0,
    observations,
    htmlPath: `/project/${store.projectId}/traces/${traceId}`,
    totalCost: decimalSum(observations.map((o) => (o.calculatedTotalCost as number) ?? 0)),
  };
}

/** GET /api/public/sessions/{sessionId}: the session row and its traces (latest version each). */
export function sessionWithTraces(store: ProjectStore, sessionId: string): Json | undefined {
  const session = store.sessions.get(sessionId);
  if (!session) return undefined;
  const traces = [...store.traces.values()]
    .flatMap((e) => (e.record?.session_id === sessionId ? [e.record] : []))
    .sort((a, b) => (b.event_ts as number) - (a.event_ts as number))
    .map((t) => ({ ...traceDomain(t), externalId: null }));
  return { ...session, createdAt: session.createdAt.toISOString(), traces };
}
