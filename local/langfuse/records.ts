/**
 * One validated ingestion event -> one Langfuse storage record (the ClickHouse
 * row shape, snake_case), and the derived columns Langfuse computes after a
 * merge. Ported from worker/src/services/IngestionService/index.ts
 * (mapTraceEventsToRecords, mapObservationEventsToRecords, getObservationType,
 * processScoreEventList, getUsageUnits, calculateUsageCosts) and
 * packages/shared/src/server/ingestion/validateAndInflateScore.ts at 62751446.
 */
import type {
  ObservationEvent,
  ScoreEvent,
  ScoreEventBody,
  TraceEvent,
} from './ingestion-schema.ts';
import { metadataRecord, type StoredRecord } from './merge.ts';

/** Date.parse of an ISO time (ms precision, as ClickHouse DateTime64(3) keeps it), or now. */
export const millis = (iso: string | null | undefined): number =>
  iso ? Date.parse(iso) : Date.now();

/** index.ts mapTraceEventsToRecords. */
export function traceRecord(event: TraceEvent, projectId: string, id: string): StoredRecord {
  const body = event.body;
  return {
    id,
    project_id: projectId,
    timestamp: millis(body.timestamp ?? event.timestamp),
    name: body.name,
    user_id: body.userId,
    metadata: body.metadata ? metadataRecord(body.metadata) : {},
    release: body.release,
    version: body.version,
    environment: body.environment,
    // `public` is always set (false when absent), so a later event without it resets it.
    public: body.public ?? false,
    bookmarked: false,
    tags: body.tags ?? [],
    session_id: body.sessionId,
    created_at: Date.now(),
    updated_at: Date.now(),
    event_ts: Date.parse(event.timestamp),
  };
}

/** index.ts getObservationType: the event type decides the observation type. */
export function observationType(event: ObservationEvent): string {
  if (event.type === 'observation-create' || event.type === 'observation-update') {
    return event.body.type;
  }
  return event.type.replace(/-(create|update)$/, '').toUpperCase();
}

type Numbers = Record<string, number>;
const definedNumbers = (details: unknown): Numbers =>
  Object.fromEntries(
    Object.entries((details ?? {}) as Record<string, unknown>).filter(([, v]) => v != null),
  ) as Numbers;

/** index.ts mapObservationEventsToRecords (no prompt lookup: the local project has no prompts). */
export function observationRecord(
  event: ObservationEvent,
  projectId: string,
  id: string,
): StoredRecord {
  const body = event.body as Record<string, unknown> & ObservationEvent['body'];
  const usage = body.usage as
    | { input?: number | null; output?: number | null; total?: number | null }
    | null
    | undefined;
  const usageCosts = body.usage as
    | { inputCost?: number | null; outputCost?: number | null; totalCost?: number | null }
    | null
    | undefined;
  const input = usage?.input ?? undefined;
  const output = usage?.output ?? undefined;
  const hasUsageDetails =
    Object.keys((body.usageDetails as object | null | undefined) ?? {}).length > 0;
  const total =
    usage?.total ||
    (!hasUsageDetails ? (input && output ? input + output : (input ?? output)) : undefined);
  const providedUsage: Numbers = {};
  if (input != null) providedUsage.input = input;
  if (output != null) providedUsage.output = output;
  if (total != null) providedUsage.total = total;
  Object.assign(providedUsage, definedNumbers(body.usageDetails));
  const providedCost: Numbers = {};
  if (usageCosts?.inputCost != null) providedCost.input = usageCosts.inputCost;
  if (usageCosts?.outputCost != null) providedCost.output = usageCosts.outputCost;
  if (usageCosts?.totalCost != null) providedCost.total = usageCosts.totalCost;
  Object.assign(providedCost, definedNumbers(body.costDetails));
  const endTime = 'endTime' in body ? (body.endTime as string | null | undefined) : undefined;
  const completionStart = body.completionStartTime as string | null | undefined;
  const modelParameters = body.modelParameters as object | null | undefined;
  return {
    id,
    trace_id: body.traceId ?? undefined,
    type: observationType(event),
    name: body.name,
    environment: 'environment' in body ? body.environment : 'default',
    start_time: millis(body.startTime ?? event.timestamp),
    end_time: endTime ? millis(endTime) : undefined,
    completion_start_time: completionStart ? millis(completionStart) : undefined,
    metadata: body.metadata ? metadataRecord(body.metadata) : {},
    provided_model_name: body.model as string | null | undefined,
    model_parameters: modelParameters ? JSON.stringify(modelParameters) : undefined,
    provided_usage_details: providedUsage,
    provided_cost_details: providedCost,
    usage_details: providedUsage,
    cost_details: providedCost,
    level: body.level,
    status_message: body.statusMessage ?? undefined,
    parent_observation_id: body.parentObservationId ?? undefined,
    version: body.version ?? undefined,
    project_id: projectId,
    created_at: Date.now(),
    updated_at: Date.now(),
    event_ts: Date.parse(event.timestamp),
  };
}

/**
 * index.ts getUsageUnits + calculateUsageCosts, written into the record, for
 * the case the local server models: no model price table. usage_details = the
 * provided usage, plus `total` = the sum of all provided keys when none was
 * given. cost_details = the provided costs, plus `total` = input + output only
 * when those are the only keys; total_cost = cost_details.total.
 */
export function derivedUsageAndCost(record: StoredRecord): StoredRecord {
  const provided: Numbers = {};
  for (const [key, value] of Object.entries((record.provided_usage_details ?? {}) as Numbers)) {
    const n = Number(value);
    if (value != null && !Number.isNaN(n) && n >= 0) provided[key] = n;
  }
  const usageDetails: Numbers = Object.assign({}, provided);
  if (Object.keys(usageDetails).length > 0 && !('total' in usageDetails)) {
    usageDetails.total = Object.values(provided).reduce((sum, n) => sum + n, 0);
  }
  const providedCost = (record.provided_cost_details ?? {}) as Numbers;
  const costKeys = Object.keys(providedCost).filter((k) => providedCost[k] != null);
  const costDetails: Numbers = Object.assign({}, providedCost);
  let totalCost: number | undefined;
  if (costKeys.length > 0) {
    totalCost =
      providedCost.total ??
      (costKeys.every((k) => k === 'input' || k === 'output')
        ? (providedCost.input ?? 0) + (providedCost.output ?? 0)
        : undefined);
    if (!('total' in costDetails) && totalCost != null) costDetails.total = totalCost;
  }
  record.usage_details = usageDetails;
  record.cost_details = costDetails;
  record.total_cost = totalCost;
  record.internal_model_id = undefined;
  return record;
}

/** A score Langfuse accepts over HTTP but drops in the worker (validateAndInflateScore throws). */
export class ScoreDropped extends Error {}

/** validateAndInflateScore.ts, without score configs (the local project has none). */
function inflateScore(body: ScoreEventBody) {
  if (body.source === 'ANNOTATION' && !body.configId && body.dataType !== 'CORRECTION') {
    throw new ScoreDropped(
      'configId is required when source is ANNOTATION (except for CORRECTION scores).',
    );
  }
  if (body.configId) {
    throw new ScoreDropped(
      'The configId you provided does not match a valid config in this project',
    );
  }
  const value = body.value as string | number;
  const dataType = body.dataType ?? (typeof value === 'number' ? 'NUMERIC' : 'CATEGORICAL');
  const numeric = dataType === 'NUMERIC' || dataType === 'BOOLEAN';
  if (numeric !== (typeof value === 'number') || (dataType === 'TEXT' && !value)) {
    throw new ScoreDropped(
      'Ingested score value type not valid against provided data type. Provide numeric values ' +
        'for numeric and boolean scores, string values for categorical scores, and string ' +
        'values of 1-500 characters for text scores.',
    );
  }
  if (typeof value === 'number') {
    if (body.dataType === 'BOOLEAN') {
      return {
        value,
        string_value: value === 1 ? 'True' : 'False',
        data_type: 'BOOLEAN',
        long: '',
      };
    }
    return { value, string_value: null, data_type: 'NUMERIC', long: '' };
  }
  if (dataType === 'CORRECTION') {
    return { value: 0, string_value: null, data_type: 'CORRECTION', long: value, name: 'output' };
  }
  if (dataType === 'TEXT') return { value: 0, string_value: value, data_type: 'TEXT', long: '' };
  return { value: 0, string_value: value, data_type: 'CATEGORICAL', long: '' };
}

/**
 * index.ts processScoreEventList: the score's `timestamp` is the event
 * envelope's timestamp (the body has none).
 */
export function scoreRecord(event: ScoreEvent, projectId: string, id: string): StoredRecord {
  const body = event.body;
  const inflated = inflateScore(body);
  return {
    id,
    project_id: projectId,
    environment: body.environment,
    timestamp: millis(event.timestamp),
    name: inflated.name ?? body.name,
    value: inflated.value,
    source: body.source ?? 'API',
    trace_id: body.traceId,
    session_id: body.sessionId,
    dataset_run_id: body.datasetRunId,
    data_type: inflated.data_type,
    observation_id: body.observationId,
    config_id: body.configId,
    comment: body.comment,
    metadata: body.metadata ? metadataRecord(body.metadata) : {},
    string_value: inflated.string_value,
    long_string_value: inflated.long,
    execution_trace_id: body.executionTraceId,
    queue_id: body.queueId ?? null,
    created_at: Date.now(),
    updated_at: Date.now(),
    event_ts: Date.parse(event.timestamp),
  };
}
