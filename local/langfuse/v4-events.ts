/**
 * Langfuse v4's direct write: every OTLP span becomes one row of the events
 * table, read from that span alone. Ported at commit 62751446 from
 * packages/shared/src/server/otel/OtelIngestionProcessor.ts (processToEvent)
 * and worker/src/services/IngestionService/index.ts (createEventRecord,
 * parseEventModelParameters, parseUInt16), with the column types of
 * packages/shared/clickhouse/migrations/clustered/0039_create_events_full.up.sql.
 *
 * Unlike the legacy path (otel-ingestion.ts) nothing is merged: there is no
 * trace record; user, session, trace name, tags, release, version,
 * environment and trace metadata are whatever this span carries; a root span
 * is not special except for `isRootObservation`; the same span exported twice
 * is two rows. Most string columns are non-Nullable, so an absent value is
 * stored as '' (ClickHouse's JSONEachRow insert puts the column default for
 * null) and reads back as ''.
 */

import { UsageDetails } from './ingestion-fields.ts';
import { observationType } from './observation-type.ts';
import {
  ATTR,
  type Attributes,
  extractCompletionStartTime,
  extractEnvironment,
  extractMetadata,
  extractModelName,
  extractModelParameters,
  extractName,
  extractPublic,
  extractSessionId,
  extractTags,
  extractUserId,
} from './otel-attributes.ts';
import {
  costDetails,
  inputOutput,
  observationLevel,
  usageDetails,
} from './otel-observation-fields.ts';
import { attributeMap, type OtlpResourceSpans, parseId, spanTimes } from './otlp.ts';
import { derivedUsageAndCost } from './records.ts';

/** One events-table row (times in ms; the table keeps µs of ms-aligned values). */
export interface EventRecord {
  id: string;
  project_id: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  start_time: number;
  end_time: number;
  name: string;
  type: string;
  environment: string;
  version: string;
  release: string;
  trace_name: string;
  user_id: string;
  session_id: string;
  tags: string[];
  level: string;
  status_message: string;
  completion_start_time: number | null;
  is_app_root: boolean;
  bookmarked: boolean;
  public: boolean;
  prompt_id: string;
  prompt_name: string;
  prompt_version: number | null;
  model_id: string;
  provided_model_name: string;
  model_parameters: string;
  provided_usage_details: Record<string, number>;
  usage_details: Record<string, number>;
  provided_cost_details: Record<string, number>;
  cost_details: Record<string, number>;
  usage_pricing_tier_id: string | null;
  usage_pricing_tier_name: string | null;
  input: string;
  output: string;
  metadata_names: string[];
  metadata_values: string[];
  created_at: number;
  updated_at: number;
  event_ts: number;
}

/** A non-Nullable String column: null/undefined -> '', other JSON values as their text. */
const column = (value: unknown): string =>
  value == null ? '' : typeof value === 'string' ? value : JSON.stringify(value);

/** IngestionService.stringify: undefined for null, strings as they are, else JSON. */
const stringify = (value: unknown) =>
  value == null ? undefined : typeof value === 'string' ? value : JSON.stringify(value);

/** parseUInt16. */
function uint16(value: unknown): number | null {
  if (value == null) return null;
  const n = Number.parseInt(String(value), 10);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : null;
}

/** otel/utils.ts flattenJsonToPathArrays: nested objects become dotted paths, leaves text. */
export function flattenJsonToPathArrays(
  object: Record<string, unknown>,
  prefix = '',
): { names: string[]; values: string[] } {
  const names: string[] = [];
  const values: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (
      value !== null &&
      value !== undefined &&
      typeof value === 'object' &&
      !Array.isArray(value)
    ) {
      const nested = flattenJsonToPathArrays(value as Record<string, unknown>, path);
      names.push(...nested.names);
      values.push(...nested.values);
    } else {
      names.push(path);
      // createEventRecord: `values.map((v) => v ?? "")`.
      values.push(value == null ? '' : typeof value === 'string' ? value : JSON.stringify(value));
    }
  }
  return { names, values };
}

/** processToEvent + createEventRecord for every span of an accepted export. */
export function otelToEventRecords(
  resourceSpans: OtlpResourceSpans[],
  projectId: string,
  now: number,
): EventRecord[] {
  const records: EventRecord[] = [];
  for (const resourceSpan of resourceSpans.filter(Boolean)) {
    const resource = attributeMap(resourceSpan.resource?.attributes);
    for (const scopeSpan of resourceSpan.scopeSpans ?? []) {
      const scopeAttributes = attributeMap(scopeSpan?.scope?.attributes);
      const isLangfuseSdk = scopeSpan.scope?.name?.startsWith('langfuse-sdk') ?? false;
      for (const span of scopeSpan?.spans ?? []) {
        const attributes = attributeMap(span.attributes);
        records.push(
          eventRecord(
            { span, scopeSpan, resource, scopeAttributes, attributes, isLangfuseSdk },
            projectId,
            now,
          ),
        );
      }
    }
  }
  return records;
}

function eventRecord(
  c: {
    span: NonNullable<NonNullable<OtlpResourceSpans['scopeSpans']>[number]['spans']>[number];
    scopeSpan: NonNullable<OtlpResourceSpans['scopeSpans']>[number];
    resource: Attributes;
    scopeAttributes: Attributes;
    attributes: Attributes;
    isLangfuseSdk: boolean;
  },
  projectId: string,
  now: number,
): EventRecord {
  const { span, attributes, resource } = c;
  const { startTimeISO, endTimeISO } = spanTimes(span);
  const io = inputOutput(attributes, 'observation', !c.isLangfuseSdk);
  // processToEvent: catch-alls first, then the span's own observation and trace metadata.
  const metadata: Attributes = Object.assign(
    c.isLangfuseSdk ? {} : { attributes: io.filteredAttributes },
    {
      resourceAttributes: resource,
      scope: Object.assign({}, c.scopeSpan.scope, { attributes: c.scopeAttributes }),
    },
    extractMetadata(attributes, 'observation'),
    extractMetadata(attributes, 'trace'),
  );
  const type = observationType(attributes, resource, c.scopeSpan.scope);
  const prompt = (key: string, legacy: string) =>
    type === 'GENERATION' ? (attributes[key] ?? attributes[legacy] ?? null) : null;
  const usage = UsageDetails.safeParse(usageDetails(attributes));
  const providedUsage = (usage.success ? (usage.data ?? {}) : {}) as Record<string, number>;
  const providedCost = costDetails(attributes) as Record<string, number>;
  const modelName = extractModelName(attributes);
  const completionStart = extractCompletionStartTime(attributes);
  // getGenerationUsage runs only with a model or provided usage/cost (no price table here).
  const enrich =
    Boolean(modelName) ||
    Object.keys(providedUsage).length > 0 ||
    Object.keys(providedCost).length > 0;
  const derived = enrich
    ? derivedUsageAndCost({
        id: '',
        project_id: projectId,
        provided_usage_details: providedUsage,
        provided_cost_details: providedCost,
      })
    : undefined;
  const flattened = flattenJsonToPathArrays(metadata);
  const spanId = parseId(span.spanId);
  return {
    id: spanId,
    project_id: projectId,
    trace_id: parseId(span.traceId),
    span_id: spanId,
    parent_span_id: span.parentSpanId ? parseId(span.parentSpanId) : '',
    start_time: Date.parse(startTimeISO),
    end_time: Date.parse(endTimeISO),
    name: column(extractName(span.name ?? '', attributes)),
    type,
    environment: extractEnvironment(attributes, resource),
    version: column(attributes[ATTR.VERSION] ?? resource['service.version']),
    release: column(attributes[ATTR.RELEASE] ?? resource[ATTR.RELEASE]),
    trace_name: column(attributes[ATTR.TRACE_NAME]),
    user_id: column(extractUserId(attributes)),
    session_id: column(extractSessionId(attributes)),
    tags: extractTags(attributes),
    level: observationLevel(attributes, span.status?.code),
    status_message: column(attributes[ATTR.OBSERVATION_STATUS_MESSAGE] ?? span.status?.message),
    completion_start_time: completionStart ? Date.parse(completionStart) : null,
    is_app_root: [true, 'true'].includes(attributes['langfuse.internal.is_app_root'] as string),
    bookmarked: false,
    public: extractPublic(attributes) ?? false,
    // The local project has no prompts (getPrompt finds none) and no model price table.
    prompt_id: '',
    prompt_name: column(prompt(ATTR.OBSERVATION_PROMPT_NAME, 'langfuse.prompt.name')),
    prompt_version: uint16(prompt(ATTR.OBSERVATION_PROMPT_VERSION, 'langfuse.prompt.version')),
    model_id: '',
    provided_model_name: column(modelName),
    // parseEventModelParameters keeps the object ({} when none); the String column its JSON text.
    model_parameters: JSON.stringify(extractModelParameters(attributes) ?? {}),
    provided_usage_details: providedUsage,
    usage_details: (derived?.usage_details as Record<string, number>) ?? {},
    provided_cost_details: providedCost,
    cost_details: (derived?.cost_details as Record<string, number>) ?? {},
    usage_pricing_tier_id: null,
    usage_pricing_tier_name: null,
    input: column(stringify(io.input)),
    output: column(stringify(io.output)),
    metadata_names: flattened.names,
    metadata_values: flattened.values,
    created_at: now,
    updated_at: now,
    event_ts: now,
  };
}
