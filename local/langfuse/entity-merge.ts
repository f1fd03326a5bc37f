/**
 * Merging the events of one entity into its stored record, as Langfuse's
 * worker does at commit 62751446:
 *
 *  - packages/shared/src/server/ingestion/processEventBatch.ts: a batch is
 *    sorted (updates last, by timestamp) and grouped per entity id; each group
 *    is one "file" named after its first event id (a retry with the same event
 *    id replaces it, as the S3 object would be overwritten).
 *  - worker/src/queues/ingestionQueue.ts: traces and scores (and observations
 *    sent to /ingestion) re-merge every event file ever received for that id;
 *    an OTel observation merges only its own event (skipS3List).
 *  - worker/src/services/IngestionService/index.ts (process*EventList): the
 *    stored record is the baseline when Langfuse's lookup finds it
 *    (`timestamp >=` the earliest incoming one; observations also need the
 *    same type); events follow in time order; immutable keys stay as first set.
 */
import { randomUUID } from 'node:crypto';
import type {
  IngestionEvent,
  ObservationEvent,
  ScoreEvent,
  TraceEvent,
} from './ingestion-schema.ts';
import {
  IMMUTABLE_KEYS,
  mergeRecords,
  type StoredRecord,
  stringValues,
  timeSorted,
} from './merge.ts';
import {
  derivedUsageAndCost,
  observationRecord,
  observationType,
  ScoreDropped,
  scoreRecord,
  traceRecord,
} from './records.ts';

export type EntityKind = 'trace' | 'observation' | 'score';
export interface Entity {
  files: Map<string, IngestionEvent[]>;
  record?: StoredRecord;
}

/** packages/shared/src/server/clickhouse/schemaUtils.ts getClickhouseEntityType. */
export function entityKind(type: string): EntityKind | undefined {
  if (type === 'trace-create') return 'trace';
  if (type === 'score-create') return 'score';
  if (type === 'sdk-log' || type === 'dataset-run-item-create') return undefined;
  return 'observation';
}

const UPDATE_TYPES = new Set(['generation-update', 'span-update', 'observation-update']);
const byTime = (a: IngestionEvent, b: IngestionEvent) =>
  Date.parse(a.timestamp) - Date.parse(b.timestamp);
/** processEventBatch.ts sortBatch: non-update events by timestamp, then updates by timestamp. */
export const sortBatch = (batch: IngestionEvent[]) =>
  batch
    .filter((e) => !UPDATE_TYPES.has(e.type))
    .sort(byTime)
    .concat(batch.filter((e) => UPDATE_TYPES.has(e.type)).sort(byTime));

const stringify = (value: unknown) =>
  value == null ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
/** The latest truthy input/output among the events ("first non-null in reversed order"). */
function latestTruthy(events: IngestionEvent[], key: 'input' | 'output') {
  const bodies = events.map((e) => e.body as Record<string, unknown>);
  return bodies.findLast((body) => body[key])?.[key];
}
function minOf(values: (string | null | undefined)[]) {
  let min: number | undefined;
  for (const value of values) {
    if (!value) continue;
    const time = Date.parse(value);
    if (min === undefined || time < min) min = time;
  }
  return min;
}

/** getClickhouseRecord's filter: is the stored row found as the baseline of this merge? */
function lookup(kind: EntityKind, record: StoredRecord | undefined, events: IngestionEvent[]) {
  if (!record) return undefined;
  if (kind === 'observation') {
    const min = minOf(events.map((e) => (e.body as { startTime?: string | null }).startTime));
    const sameType = record.type === observationType(events[0] as ObservationEvent);
    return sameType && (min === undefined || (record.start_time as number) >= min)
      ? record
      : undefined;
  }
  const min =
    kind === 'score'
      ? minOf(events.map((e) => e.timestamp))
      : minOf(events.map((e) => (e.body as { timestamp?: string | null }).timestamp));
  return min === undefined || (record.timestamp as number) >= min ? record : undefined;
}

function toRecord(kind: EntityKind, event: IngestionEvent, projectId: string, id: string) {
  if (kind === 'trace') return traceRecord(event as TraceEvent, projectId, id);
  if (kind === 'score') return scoreRecord(event as ScoreEvent, projectId, id);
  return observationRecord(event as ObservationEvent, projectId, id);
}

/** processObservationEventList after the merge. */
function finishObservation(merged: StoredRecord): StoredRecord {
  if (merged.end_time != null && (merged.end_time as number) < (merged.start_time as number)) {
    merged.end_time = merged.start_time;
  }
  merged.level = merged.level ?? 'DEFAULT';
  // mapObservationEventsToRecords: `trace_id: body.traceId ?? v4()`, a random trace id.
  merged.trace_id = merged.trace_id ?? randomUUID();
  return derivedUsageAndCost(merged);
}

/**
 * Merges `incoming` (one group of a batch) into `entity.record`. Returns the
 * per-event records (the trace path derives its session from them).
 */
export function mergeEntity(
  kind: EntityKind,
  entity: Entity,
  group: { id: string; fileKey: string; events: IngestionEvent[]; fullHistory: boolean },
  projectId: string,
  onDrop: (reason: string) => void,
): StoredRecord[] {
  if (group.fullHistory) entity.files.set(group.fileKey, group.events);
  const events = group.fullHistory ? [...entity.files.values()].flat() : group.events;
  const sorted = timeSorted(events);
  const existing = lookup(kind, entity.record, events);
  const records: StoredRecord[] = [];
  for (const event of sorted) {
    try {
      records.push(toRecord(kind, event, projectId, group.id));
    } catch (error) {
      if (!(error instanceof ScoreDropped)) throw error;
      onDrop(error.message);
    }
  }
  if (records.length === 0 && !existing) return records;
  const merged = mergeRecords(
    existing ? [existing, ...records] : records,
    IMMUTABLE_KEYS[`${kind}s`],
  );
  merged.metadata = stringValues((merged.metadata as Record<string, unknown>) ?? {});
  merged.created_at = existing?.created_at ?? Date.now();
  if (kind !== 'score') {
    merged.input = stringify(latestTruthy(sorted, 'input')) ?? existing?.input;
    merged.output = stringify(latestTruthy(sorted, 'output')) ?? existing?.output;
  }
  entity.record = kind === 'observation' ? finishObservation(merged) : merged;
  return records;
}
