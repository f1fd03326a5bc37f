/**
 * One row of GET /api/public/v2/observations, as the route serialises it at
 * commit 62751446: convertEventsObservation(record, { shouldJsonParse: false },
 * false) over the columns of the requested field groups
 * (packages/shared/src/server/repositories/observations_converters.ts,
 * FIELD_SETS in packages/shared/src/server/queries/clickhouse-sql/
 * event-query-builder.ts), then enrichObservationsWithModelData
 * (repositories/events.ts) and the route's own fixes (an empty parent id is
 * null, prices as strings). Key order follows those spreads.
 *
 * Facts worth knowing: the provided model name is `model` (not
 * `providedModelName`); `latency`, `timeToFirstToken` and the four model
 * fields are always present; the usage group also carries
 * inputUsage/outputUsage/totalUsage and inputCost/outputCost; strings the
 * events table keeps non-Nullable (statusMessage, version, userId,
 * sessionId, release, promptName...) read back '' when never set.
 */
import type { EventRecord } from './v4-events.ts';
import { parseJsonPrioritised } from './views.ts';

export const OBSERVATION_FIELD_GROUPS = [
  'core',
  'basic',
  'time',
  'io',
  'metadata',
  'model',
  'usage',
  'prompt',
  'metrics',
  'trace_context',
] as const;
export type ObservationFieldGroup = (typeof OBSERVATION_FIELD_GROUPS)[number];

/** eventsTableIsRootObservationSql: no physical parent, or marked as the app root. */
export const isRoot = (o: EventRecord) => o.parent_span_id === '' || o.is_app_root;
export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const leftUtf8 = (text: string, n: number) => Array.from(text).slice(0, n).join('');
const io = (value: string) => (value ? value : null);
/** observations_converters.ts reduceUsageOrCostDetails. */
function reduce(details: Record<string, number>) {
  const sum = (part: string) =>
    Object.entries(details)
      .filter(([key]) => key.includes(part))
      .reduce<number | null>((acc, [, v]) => (acc ?? 0) + Number(v), null);
  return { input: sum('input'), output: sum('output'), total: Number(details.total ?? 0) };
}
const numbers = (details: Record<string, number>, decimals?: number) =>
  Object.fromEntries(
    Object.entries(details).map(([k, v]) => [
      k,
      decimals === undefined ? Number(v) : Number(Number(v).toFixed(decimals)),
    ]),
  );

/**
 * mapFromArrays(arrayReverse(names), arrayReverse(values)) read as JSON (the
 * first written value of a path wins), each value parsed by
 * parseMetadataCHRecordToDomain.
 */
function metadataView(o: EventRecord, full: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = o.metadata_names.length - 1; i >= 0; i -= 1) {
    const value = o.metadata_values[i] as string;
    out[o.metadata_names[i] as string] = parseJsonPrioritised(full ? value : leftUtf8(value, 200));
  }
  return out;
}

/** One row as the route serialises it (convertEventsObservation + enrichment + route fixes). */
export function observationV2(
  o: EventRecord,
  groups: readonly ObservationFieldGroup[],
  fullMetadata: boolean,
  ioOf: EventRecord = o,
): Record<string, unknown> {
  const has = (g: ObservationFieldGroup) => groups.includes(g);
  const row: Record<string, unknown> = {
    id: o.span_id,
    traceId: o.trace_id,
    startTime: iso(o.start_time),
    endTime: iso(o.end_time),
    projectId: o.project_id,
    parentObservationId: o.parent_span_id || null,
    type: o.type,
  };
  if (has('basic')) {
    Object.assign(row, {
      name: o.name,
      level: o.level,
      statusMessage: o.status_message,
      version: o.version,
      environment: o.environment,
    });
  }
  if (has('time')) {
    Object.assign(row, {
      completionStartTime: iso(o.completion_start_time),
      createdAt: iso(o.created_at),
      updatedAt: iso(o.updated_at),
    });
  }
  if (has('io')) Object.assign(row, { input: io(ioOf.input), output: io(ioOf.output) });
  if (has('metadata')) row.metadata = metadataView(fullMetadata ? ioOf : o, fullMetadata);
  if (has('model')) {
    Object.assign(row, {
      model: o.provided_model_name,
      internalModelId: o.model_id,
      modelParameters: o.model_parameters
        ? (parseJsonPrioritised(o.model_parameters) ?? null)
        : null,
    });
  }
  if (has('usage')) {
    const usage = reduce(o.usage_details);
    const cost = reduce(o.cost_details);
    Object.assign(row, {
      usageDetails: numbers(o.usage_details),
      inputUsage: usage.input ?? 0,
      outputUsage: usage.output ?? 0,
      totalUsage: usage.total ?? 0,
      costDetails: numbers(o.cost_details, 12),
      inputCost: cost.input,
      outputCost: cost.output,
      totalCost: cost.total,
    });
  }
  if (has('prompt')) {
    Object.assign(row, {
      promptId: o.prompt_id,
      promptName: o.prompt_name,
      promptVersion: o.prompt_version ? Number(o.prompt_version) : null,
    });
  }
  if (has('usage')) {
    Object.assign(row, {
      usagePricingTierId: o.usage_pricing_tier_id,
      usagePricingTierName: o.usage_pricing_tier_name,
    });
  }
  const since = (ms: number | null) =>
    ms !== null && o.start_time ? (ms - o.start_time) / 1000 : null;
  row.latency = since(o.end_time);
  // Computed from completion_start_time when `time` or `metrics` selected it, else null.
  row.timeToFirstToken = has('time') || has('metrics') ? since(o.completion_start_time) : null;
  if (has('basic')) Object.assign(row, { userId: o.user_id, sessionId: o.session_id });
  if (has('basic')) row.isRootObservation = isRoot(o);
  if (has('trace_context')) {
    Object.assign(row, {
      // eventsTableTraceNameSelectSql + normalizeEventsTraceName: a root falls back to its name.
      traceName: o.trace_name || (isRoot(o) ? o.name : '') || null,
      release: o.release,
      tags: o.tags,
    });
  }
  if (has('basic')) Object.assign(row, { bookmarked: o.bookmarked, public: o.public });
  // No model price table here: the `model` lookup never matches.
  return Object.assign(row, {
    modelId: null,
    inputPrice: null,
    outputPrice: null,
    totalPrice: null,
  });
}
