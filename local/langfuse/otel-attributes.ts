/**
 * Reading Langfuse fields out of span attributes, ported from the extract*
 * helpers of packages/shared/src/server/otel/OtelIngestionProcessor.ts and
 * the attribute names of packages/shared/src/server/otel/attributes.ts at
 * commit 62751446. Langfuse-SDK conventions (langfuse.*, user.id, session.id)
 * and the vendor-neutral OTel GenAI fallbacks are modelled; fallbacks that
 * only apply to one vendor's instrumentation scope (Vercel AI SDK "ai",
 * Genkit, OpenInference message lists, Pydantic, LiveKit...) are not.
 */
import { DEFAULT_ENVIRONMENT, normalizeEnvironment } from './ingestion-schema.ts';

export type Attributes = Record<string, unknown>;

export const ATTR = {
  TRACE_NAME: 'langfuse.trace.name',
  TRACE_USER_ID: 'user.id',
  TRACE_SESSION_ID: 'session.id',
  TRACE_TAGS: 'langfuse.trace.tags',
  TRACE_PUBLIC: 'langfuse.trace.public',
  TRACE_METADATA: 'langfuse.trace.metadata',
  TRACE_INPUT: 'langfuse.trace.input',
  TRACE_OUTPUT: 'langfuse.trace.output',
  OBSERVATION_TYPE: 'langfuse.observation.type',
  OBSERVATION_METADATA: 'langfuse.observation.metadata',
  OBSERVATION_LEVEL: 'langfuse.observation.level',
  OBSERVATION_STATUS_MESSAGE: 'langfuse.observation.status_message',
  OBSERVATION_INPUT: 'langfuse.observation.input',
  OBSERVATION_OUTPUT: 'langfuse.observation.output',
  OBSERVATION_COMPLETION_START_TIME: 'langfuse.observation.completion_start_time',
  OBSERVATION_MODEL: 'langfuse.observation.model.name',
  OBSERVATION_MODEL_PARAMETERS: 'langfuse.observation.model.parameters',
  OBSERVATION_USAGE_DETAILS: 'langfuse.observation.usage_details',
  OBSERVATION_COST_DETAILS: 'langfuse.observation.cost_details',
  OBSERVATION_PROMPT_NAME: 'langfuse.observation.prompt.name',
  OBSERVATION_PROMPT_VERSION: 'langfuse.observation.prompt.version',
  ENVIRONMENT: 'langfuse.environment',
  RELEASE: 'langfuse.release',
  VERSION: 'langfuse.version',
  AS_ROOT: 'langfuse.internal.as_root',
} as const;

const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
const firstTruthy = (attributes: Attributes, keys: string[]) =>
  keys.map((key) => attributes[key]).find(Boolean);

/** extractEnvironment: span, then resource attribute, per key in order; else "default". */
export function extractEnvironment(attributes: Attributes, resource: Attributes): string {
  for (const key of [ATTR.ENVIRONMENT, 'deployment.environment.name', 'deployment.environment']) {
    if (attributes[key]) return normalizeEnvironment(attributes[key]);
    if (resource[key]) return normalizeEnvironment(resource[key]);
  }
  return DEFAULT_ENVIRONMENT;
}

/** extractName: gen_ai.tool.name, then vendor names, else the span name. */
export function extractName(spanName: string, attributes: Attributes): string {
  if (attributes['gen_ai.tool.name']) return asText(attributes['gen_ai.tool.name']);
  if ('genkit:name' in attributes) return attributes['genkit:name'] as string;
  if (attributes['logfire.msg']) return asText(attributes['logfire.msg']);
  if ('ai.toolCall.name' in attributes) return attributes['ai.toolCall.name'] as string;
  if ('ai.operationId' in attributes) {
    const fn = attributes['ai.telemetry.functionId'];
    return `${fn ? `${fn}:` : ''}${attributes['ai.operationId']}`;
  }
  return spanName;
}

/** parseMetadataAttribute: a JSON object string or an object; anything else counts as nothing. */
function parseMetadata(value: unknown): Attributes {
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') {
    try {
      const parsed = JSON.parse(value);
      return parsed && typeof parsed === 'object' ? parsed : {};
    } catch {
      return {};
    }
  }
  return typeof value === 'object' ? (value as Attributes) : {};
}

/**
 * extractMetadata: `<prefix>` (or `langfuse.metadata`) as a JSON object,
 * overlaid with every `<prefix>.<key>` / `langfuse.metadata.<key>` attribute
 * (values kept as sent: a string stays a string).
 */
export function extractMetadata(
  attributes: Attributes,
  domain: 'trace' | 'observation',
): Attributes {
  const prefix = domain === 'observation' ? ATTR.OBSERVATION_METADATA : ATTR.TRACE_METADATA;
  const top = parseMetadata(attributes[prefix] || attributes['langfuse.metadata']);
  const excluded = new Set([
    'ai.telemetry.metadata.userId',
    'ai.telemetry.metadata.sessionId',
    'ai.telemetry.metadata.tags',
    'ai.telemetry.metadata.langfusePrompt',
  ]);
  const prefixed: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    for (const p of [prefix, 'langfuse.metadata', 'ai.telemetry.metadata']) {
      if (!key.startsWith(`${p}.`) || excluded.has(key)) continue;
      const metadataKey = key.slice(p.length + 1);
      if (metadataKey) prefixed[metadataKey] = value;
    }
  }
  return Object.assign({}, top, prefixed);
}

/** extractUserId: the first truthy of these keys, stringified if not a string. */
export function extractUserId(attributes: Attributes): string | undefined {
  const value = firstTruthy(attributes, [
    'langfuse.user.id',
    ATTR.TRACE_USER_ID,
    `${ATTR.OBSERVATION_METADATA}.langfuse_user_id`,
    `${ATTR.TRACE_METADATA}.langfuse_user_id`,
    'ai.telemetry.metadata.userId',
  ]);
  return value ? asText(value) : undefined;
}

/** extractSessionId: like the user id, with gen_ai.conversation.id as a fallback. */
export function extractSessionId(attributes: Attributes): string | undefined {
  const value = firstTruthy(attributes, [
    'langfuse.session.id',
    ATTR.TRACE_SESSION_ID,
    'gen_ai.conversation.id',
    `${ATTR.OBSERVATION_METADATA}.langfuse_session_id`,
    `${ATTR.TRACE_METADATA}.langfuse_session_id`,
    'ai.telemetry.metadata.sessionId',
  ]);
  return value ? asText(value) : undefined;
}

/** extractPublic: only `true` or "true" is public; absent stays undefined. */
export function extractPublic(attributes: Attributes): boolean | undefined {
  const value = attributes[ATTR.TRACE_PUBLIC] ?? attributes['langfuse.public'];
  if (value == null) return undefined;
  return value === true || value === 'true';
}

/** extractTags: an array; a JSON array string; a comma-separated string; or one tag. */
export function extractTags(attributes: Attributes): string[] {
  const value = firstTruthy(attributes, [
    ATTR.TRACE_TAGS,
    'langfuse.tags',
    `${ATTR.OBSERVATION_METADATA}.langfuse_tags`,
    `${ATTR.TRACE_METADATA}.langfuse_tags`,
    'ai.telemetry.metadata.tags',
    'tag.tags',
  ]);
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return [];
  if (value.trim().startsWith('[')) {
    try {
      const parsed = JSON.parse(value);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // falls through to the other forms
    }
  }
  return value.includes(',') ? value.split(',').map((tag) => tag.trim()) : [value];
}

/** hasTraceUpdates: a non-root span that carries trace attributes also updates the trace. */
export function hasTraceUpdates(attributes: Attributes): boolean {
  const exact = [
    ATTR.TRACE_NAME,
    ATTR.TRACE_INPUT,
    ATTR.TRACE_OUTPUT,
    ATTR.TRACE_METADATA,
    ATTR.TRACE_USER_ID,
    ATTR.TRACE_SESSION_ID,
    ATTR.TRACE_PUBLIC,
    ATTR.TRACE_TAGS,
    'langfuse.user.id',
    'langfuse.session.id',
    `${ATTR.OBSERVATION_METADATA}.langfuse_user_id`,
    `${ATTR.OBSERVATION_METADATA}.langfuse_session_id`,
    `${ATTR.OBSERVATION_METADATA}.langfuse_tags`,
    `${ATTR.TRACE_METADATA}.langfuse_session_id`,
    `${ATTR.TRACE_METADATA}.langfuse_user_id`,
    `${ATTR.TRACE_METADATA}.langfuse_tags`,
    'ai.telemetry.metadata.sessionId',
    'ai.telemetry.metadata.userId',
    'ai.telemetry.metadata.tags',
    'tag.tags',
  ];
  return (
    exact.some((key) => Boolean(attributes[key])) ||
    Object.keys(attributes).some((key) => key.startsWith(ATTR.TRACE_METADATA))
  );
}

/** extractModelName: the first truthy model key. */
export function extractModelName(attributes: Attributes): string | undefined {
  const value = firstTruthy(attributes, [
    ATTR.OBSERVATION_MODEL,
    'gen_ai.response.model',
    'ai.model.id',
    'gen_ai.request.model',
    'llm.response.model',
    'llm.model_name',
    'model',
  ]);
  return value ? asText(value) : undefined;
}

/** sanitizeModelParams: values other than strings and numbers become JSON text. */
const sanitize = (params: Attributes): Attributes =>
  Object.fromEntries(
    Object.entries(params).map(([key, value]) => [
      key,
      typeof value === 'string' || typeof value === 'number' ? value : JSON.stringify(value),
    ]),
  );

function parseObject(value: unknown): Attributes | undefined {
  try {
    const parsed = JSON.parse(value as string);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * extractModelParameters (outside the Vercel/Genkit scopes): the JSON in
 * langfuse.observation.model.parameters, else llm.invocation_parameters, else
 * model_config, else every gen_ai.request.* / llm.invocation_parameters.*
 * attribute except `model`.
 */
export function extractModelParameters(attributes: Attributes): Attributes {
  for (const key of [
    ATTR.OBSERVATION_MODEL_PARAMETERS,
    'llm.invocation_parameters',
    'model_config',
  ]) {
    const parsed = attributes[key] ? parseObject(attributes[key]) : undefined;
    if (parsed) return sanitize(parsed);
  }
  const params: Attributes = {};
  for (const prefix of ['gen_ai.request.', 'llm.invocation_parameters.']) {
    for (const key of Object.keys(attributes)) {
      const name = key.replace(prefix, '');
      if (key.startsWith(prefix) && name !== 'model') params[name] = attributes[key];
    }
  }
  return sanitize(params);
}

/**
 * parseJsonObjectAttribute: a JSON object string -> the object; a present
 * non-string or non-object -> {} (no fallback); absent or invalid JSON -> null
 * (the caller tries its fallbacks).
 */
export function jsonObjectAttribute(attributes: Attributes, key: string): Attributes | null {
  const raw = attributes[key];
  if (!raw) return null;
  if (typeof raw !== 'string') return {};
  try {
    const parsed = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return null;
  }
}

/** extractCompletionStartTime: any Date-parsable string, or a JSON-quoted one (older SDKs). */
export function extractCompletionStartTime(attributes: Attributes): string | null {
  const value = attributes[ATTR.OBSERVATION_COMPLETION_START_TIME];
  const valid = (v: unknown) => !Number.isNaN(new Date(v as string).getTime());
  if (valid(value)) return value as string;
  // JSON.parse of anything else throws, or was covered above.
  if (typeof value !== 'string') return null;
  try {
    const parsed = JSON.parse(value as string);
    if (valid(parsed)) return parsed;
  } catch {
    // not JSON either
  }
  return null;
}
