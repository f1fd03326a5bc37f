/**
 * How Langfuse folds many events for one entity into one stored record,
 * ported from worker/src/services/IngestionService/utils.ts (overwriteObject,
 * convertJsonSchemaToRecord, convertRecordValuesToString) and
 * worker/src/services/IngestionService/index.ts (mergeRecords,
 * toTimeSortedEventList, immutableEntityKeys) at commit 62751446.
 */

export type StoredRecord = { id: string; project_id: string; [key: string]: unknown };

/**
 * index.ts immutableEntityKeys: once a record exists, a later event can never
 * change these (the first record that sets a key wins).
 */
export const IMMUTABLE_KEYS = {
  traces: new Set(['id', 'project_id', 'timestamp', 'created_at', 'environment']),
  scores: new Set(['id', 'project_id', 'timestamp', 'trace_id', 'created_at', 'environment']),
  observations: new Set([
    'id',
    'project_id',
    'trace_id',
    'start_time',
    'created_at',
    'environment',
  ]),
} as const;

const isEmpty = (value: object) => {
  for (const _ in value) return false;
  return true;
};
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** lodash `merge`, which Langfuse uses for metadata: objects and arrays merge key by key. */
export function deepMerge(target: unknown, source: unknown): unknown {
  if (source === undefined) return target;
  const bothArrays = Array.isArray(target) && Array.isArray(source);
  if (!(bothArrays || (isPlainObject(target) && isPlainObject(source)))) {
    if (Array.isArray(source)) return deepMerge([], source);
    return isPlainObject(source) ? deepMerge({}, source) : source;
  }
  const out: Record<string, unknown> | unknown[] = bothArrays
    ? (target as unknown[]).slice()
    : Object.assign({}, target);
  for (const [key, value] of Object.entries(source as object)) {
    (out as Record<string, unknown>)[key] = deepMerge((out as Record<string, unknown>)[key], value);
  }
  return out;
}

/**
 * utils.ts overwriteObject (lodash mergeWith + customizer): `b` wins, except
 * that an immutable key already set, an undefined value, or an empty object
 * (usage/cost details) keeps `a`'s value. `null` does overwrite. Metadata is
 * deep-merged; tags are the sorted union.
 */
export function overwriteObject(
  a: StoredRecord,
  b: StoredRecord,
  immutable: ReadonlySet<string>,
): StoredRecord {
  // A key-by-key copy: V8 grows a `{ ...a }` clone very slowly when keys are added to it.
  const result = {} as StoredRecord;
  for (const key in a) result[key] = a[key];
  for (const key in b) {
    const value = b[key];
    const current = result[key];
    if (current !== undefined) {
      const emptyObject = typeof value === 'object' && value !== null && isEmpty(value);
      if (immutable.has(key) || value === undefined || emptyObject) continue;
    } else if (value === undefined && key in result) {
      continue;
    }
    // lodash hands the customizer's return value over as it is (no copy).
    result[key] = value;
  }
  result.metadata =
    !a.metadata && b.metadata
      ? b.metadata
      : !b.metadata && a.metadata
        ? a.metadata
        : (deepMerge(a.metadata, b.metadata) ?? {});
  if ('tags' in result) {
    const tags = [...((a.tags as string[]) ?? []), ...((b.tags as string[]) ?? [])];
    result.tags = [...new Set(tags)].sort();
  }
  return result;
}

/** index.ts mergeRecords: fold records in order, starting from the stored one. */
export function mergeRecords(
  records: StoredRecord[],
  immutable: ReadonlySet<string>,
): StoredRecord {
  const first = records[0];
  if (!first) throw new Error('No records to merge');
  let result: StoredRecord = { id: first.id, project_id: first.project_id };
  for (const record of records) result = overwriteObject(result, record, immutable);
  result.event_ts = Date.now();
  return result;
}

/** index.ts toTimeSortedEventList: by envelope timestamp; on a tie, `*-create` first. */
export function timeSorted<E extends { timestamp: string; type: string }>(events: E[]): E[] {
  return events.slice().sort((a, b) => {
    const diff = Date.parse(a.timestamp) - Date.parse(b.timestamp);
    if (diff === 0) return a.type.includes('create') ? -1 : 1;
    return diff;
  });
}

/** utils.ts convertJsonSchemaToRecord: metadata as a record (a scalar or array -> `metadata`). */
export function metadataRecord(metadata: unknown): Record<string, unknown> {
  if (
    typeof metadata === 'string' ||
    typeof metadata === 'number' ||
    typeof metadata === 'boolean'
  ) {
    return { metadata: String(metadata) };
  }
  if (Array.isArray(metadata)) return { metadata: JSON.stringify(metadata) };
  return isPlainObject(metadata) ? metadata : {};
}

/** utils.ts convertRecordValuesToString: stored metadata values are strings (JSON if not). */
export function stringValues(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}
