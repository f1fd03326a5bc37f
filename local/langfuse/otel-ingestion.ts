/**
 * OTLP resource spans -> Langfuse ingestion events, following
 * packages/shared/src/server/otel/OtelIngestionProcessor.ts
 * (processToIngestionEvents, processSpan, createTraceEvent,
 * createObservationEvent, filterRedundantShallowTraces) at commit 62751446.
 *
 * Every span becomes one observation event (`<type>-create`). A root span
 * (no parent, or langfuse.internal.as_root = true) also becomes a full
 * trace-create; a child span with trace attributes becomes a trace update;
 * any other span of a trace not seen in the last 10 minutes becomes a
 * "shallow" trace-create (id, timestamp, environment), dropped again if the
 * same export holds a full one.
 */
import { randomUUID } from 'node:crypto';
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
  hasTraceUpdates,
} from './otel-attributes.ts';
import {
  costDetails,
  inputOutput,
  observationLevel,
  usageDetails,
} from './otel-observation-fields.ts';
import {
  attributeMap,
  type OtlpResourceSpans,
  type OtlpScopeSpans,
  type OtlpSpan,
  parseId,
  spanTimes,
} from './otlp.ts';

/** An event as the processor emits it, before Langfuse's zod rules run over it. */
export interface RawIngestionEvent {
  id: string;
  type: string;
  timestamp: string;
  body: Record<string, unknown>;
}

interface SpanContext {
  span: OtlpSpan;
  scopeSpan: OtlpScopeSpans;
  resource: Attributes;
  scopeAttributes: Attributes;
  attributes: Attributes;
  traceId: string;
  parentObservationId: string | null;
  isLangfuseSdk: boolean;
  startTimeISO: string;
  endTimeISO: string;
}

// Object.assign rather than object spread throughout: spreads are several
// times slower on Node 20, and this runs for every span of every export.
const scopeObject = (c: SpanContext) =>
  Object.assign({}, c.scopeSpan.scope, { attributes: c.scopeAttributes });
const versionOf = (c: SpanContext) =>
  (c.attributes[ATTR.VERSION] as string) ?? (c.resource['service.version'] as string) ?? null;
const releaseOf = (c: SpanContext) =>
  (c.attributes[ATTR.RELEASE] as string) ?? (c.resource[ATTR.RELEASE] as string) ?? null;

/** Metadata: the parts, `attributes` (not for Langfuse-SDK scopes), resource and scope. */
function metadataOf(c: SpanContext, parts: Attributes[], filtered: Record<string, string>) {
  const metadata: Attributes = Object.assign({}, ...parts);
  if (!c.isLangfuseSdk) metadata.attributes = filtered;
  metadata.resourceAttributes = c.resource;
  metadata.scope = scopeObject(c);
  return metadata;
}

/** createTraceEvent: shallow, full (root span) or update (child span with trace attributes). */
function traceEvent(c: SpanContext, isRoot: boolean, updates: boolean): RawIngestionEvent {
  const { attributes, resource } = c;
  const body: Record<string, unknown> = {
    id: c.traceId,
    timestamp: c.startTimeISO,
    environment: extractEnvironment(attributes, resource),
  };
  if (isRoot || updates) {
    const io = isRoot ? inputOutput(attributes, 'trace', !c.isLangfuseSdk) : undefined;
    const traceMetadata = [
      extractMetadata(resource, 'trace'),
      extractMetadata(attributes, 'trace'),
    ];
    body.name = isRoot
      ? ((attributes[ATTR.TRACE_NAME] as string) ?? extractName(c.span.name ?? '', attributes))
      : attributes[ATTR.TRACE_NAME];
    body.metadata = io
      ? metadataOf(
          c,
          [...traceMetadata, extractMetadata(attributes, 'observation')],
          io.filteredAttributes,
        )
      : // A trace update leaves out `attributes`, so it cannot replace the root span's.
        Object.assign({}, ...traceMetadata, {
          resourceAttributes: resource,
          scope: scopeObject(c),
        });
    body.version = versionOf(c);
    body.release = releaseOf(c);
    body.userId = extractUserId(attributes);
    body.sessionId = extractSessionId(attributes);
    body.public = extractPublic(attributes);
    body.tags = extractTags(attributes);
    body.environment = extractEnvironment(attributes, resource);
    body.input = io ? io.input : attributes[ATTR.TRACE_INPUT];
    body.output = io ? io.output : attributes[ATTR.TRACE_OUTPUT];
  }
  return {
    id: randomUUID(),
    type: 'trace-create',
    timestamp: new Date(c.startTimeISO).toISOString(),
    body,
  };
}

/** createObservationEvent: the observation of one span; its type names the event type. */
function observationEvent(c: SpanContext): RawIngestionEvent {
  const { attributes, resource, span } = c;
  const io = inputOutput(attributes, 'observation', !c.isLangfuseSdk);
  const type = observationType(attributes, resource, c.scopeSpan.scope);
  // Prompts can only be linked to GENERATION observations.
  const prompt = (key: string, legacy: string) =>
    type === 'GENERATION' ? (attributes[key] ?? attributes[legacy] ?? null) : null;
  const body = {
    id: parseId(span.spanId),
    traceId: c.traceId,
    parentObservationId: c.parentObservationId,
    name: extractName(span.name ?? '', attributes),
    startTime: c.startTimeISO,
    endTime: c.endTimeISO,
    environment: extractEnvironment(attributes, resource),
    completionStartTime: extractCompletionStartTime(attributes),
    metadata: metadataOf(
      c,
      [extractMetadata(resource, 'trace'), extractMetadata(attributes, 'observation')],
      io.filteredAttributes,
    ),
    level: observationLevel(attributes, span.status?.code),
    statusMessage: attributes[ATTR.OBSERVATION_STATUS_MESSAGE] ?? span.status?.message ?? null,
    version: attributes[ATTR.VERSION] ?? resource['service.version'] ?? null,
    modelParameters: extractModelParameters(attributes),
    model: extractModelName(attributes),
    promptName: prompt(ATTR.OBSERVATION_PROMPT_NAME, 'langfuse.prompt.name'),
    promptVersion: prompt(ATTR.OBSERVATION_PROMPT_VERSION, 'langfuse.prompt.version'),
    usageDetails: usageDetails(attributes),
    costDetails: costDetails(attributes),
    input: io.input,
    output: io.output,
  };
  return {
    id: randomUUID(),
    type: `${type.toLowerCase()}-create`,
    timestamp: new Date().toISOString(),
    body,
  };
}

const SHALLOW_INDICATORS = [
  'name',
  'metadata',
  'userId',
  'sessionId',
  'public',
  'tags',
  'version',
  'release',
  'input',
  'output',
];
const meaningful = (value: unknown) =>
  value !== null &&
  value !== undefined &&
  value !== '' &&
  (typeof value !== 'object' || Object.keys(value).length > 0);

/** filterRedundantShallowTraces: a shallow trace-create goes if the export has a full one. */
function withoutRedundantShallowTraces(events: RawIngestionEvent[]): RawIngestionEvent[] {
  const full = new Set<string>();
  const shallow = new Set<RawIngestionEvent>();
  for (const event of events) {
    if (event.type !== 'trace-create') continue;
    const isShallow =
      !SHALLOW_INDICATORS.some((field) => meaningful(event.body[field])) &&
      meaningful(event.body.id) &&
      meaningful(event.body.timestamp) &&
      meaningful(event.body.environment);
    if (isShallow) shallow.add(event);
    else full.add(event.body.id as string);
  }
  return events.filter((e) => !(shallow.has(e) && full.has(e.body.id as string)));
}

/**
 * processToIngestionEvents. `seenTraces` holds the trace ids Langfuse's Redis
 * marked in the last 10 minutes (getSeenTracesSet); ids processed here are added.
 */
export function otelToIngestionEvents(
  resourceSpans: OtlpResourceSpans[],
  seenTraces: Set<string>,
): RawIngestionEvent[] {
  const events: RawIngestionEvent[] = [];
  for (const resourceSpan of resourceSpans) {
    if (!resourceSpan) continue;
    const resource = attributeMap(resourceSpan.resource?.attributes);
    for (const scopeSpan of resourceSpan.scopeSpans ?? []) {
      const isLangfuseSdk = scopeSpan.scope?.name?.startsWith('langfuse-sdk') ?? false;
      const scopeAttributes = attributeMap(scopeSpan.scope?.attributes);
      for (const span of scopeSpan.spans ?? []) {
        const attributes = attributeMap(span.attributes);
        const traceId = parseId(span.traceId);
        const parentObservationId = span.parentSpanId ? parseId(span.parentSpanId) : null;
        const { startTimeISO, endTimeISO } = spanTimes(span);
        const context: SpanContext = {
          span,
          scopeSpan,
          resource,
          scopeAttributes,
          attributes,
          traceId,
          parentObservationId,
          isLangfuseSdk,
          startTimeISO,
          endTimeISO,
        };
        // An empty parent id (e.g. an empty protobuf bytes field) counts as no parent.
        const isRoot = !parentObservationId || String(attributes[ATTR.AS_ROOT]) === 'true';
        const updates = hasTraceUpdates(attributes);
        if (isRoot || updates || !seenTraces.has(traceId)) {
          events.push(traceEvent(context, isRoot, updates));
          seenTraces.add(traceId);
        }
        events.push(observationEvent(context));
      }
    }
  }
  return withoutRedundantShallowTraces(events);
}
