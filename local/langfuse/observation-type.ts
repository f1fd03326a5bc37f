/**
 * Which observation type a span becomes, ported from
 * packages/shared/src/server/otel/ObservationTypeMapper.ts
 * (ObservationTypeMapperRegistry) at commit 62751446. The mappers tied to one
 * vendor's instrumentation (Genkit, Vercel AI SDK, Flue, LiveKit) are left out.
 */
import { ATTR, type Attributes } from './otel-attributes.ts';

const meaningful = (value: unknown) =>
  value !== null &&
  value !== undefined &&
  value !== '' &&
  (typeof value !== 'object' || Object.keys(value).length > 0);

/** ObservationTypeMapper.ts mappers that are not tied to one vendor's scope, in priority order. */
const DIRECT_TYPES: [string, Record<string, string>][] = [
  [
    ATTR.OBSERVATION_TYPE,
    Object.fromEntries(
      [
        'span',
        'generation',
        'event',
        'embedding',
        'agent',
        'tool',
        'chain',
        'retriever',
        'guardrail',
        'evaluator',
      ].map((t) => [t, t.toUpperCase()]),
    ),
  ],
  [
    'openinference.span.kind',
    {
      CHAIN: 'CHAIN',
      RETRIEVER: 'RETRIEVER',
      LLM: 'GENERATION',
      EMBEDDING: 'EMBEDDING',
      AGENT: 'AGENT',
      TOOL: 'TOOL',
      GUARDRAIL: 'GUARDRAIL',
      EVALUATOR: 'EVALUATOR',
    },
  ],
  [
    'gen_ai.operation.name',
    {
      chat: 'GENERATION',
      completion: 'GENERATION',
      text_completion: 'GENERATION',
      generate_content: 'GENERATION',
      generate: 'GENERATION',
      embeddings: 'EMBEDDING',
      invoke_agent: 'AGENT',
      create_agent: 'AGENT',
      execute_tool: 'TOOL',
    },
  ],
];

const GENERATION_KEYS = [
  ATTR.OBSERVATION_MODEL,
  ATTR.OBSERVATION_COST_DETAILS,
  ATTR.OBSERVATION_USAGE_DETAILS,
  ATTR.OBSERVATION_COMPLETION_START_TIME,
  ATTR.OBSERVATION_MODEL_PARAMETERS,
  ATTR.OBSERVATION_PROMPT_NAME,
  ATTR.OBSERVATION_PROMPT_VERSION,
] as string[];

/** ObservationTypeMapperRegistry.mapToObservationType; "SPAN" when nothing matches. */
export function observationType(
  attributes: Attributes,
  resource: Attributes,
  scope: { name?: string; version?: string } | undefined,
): string {
  // Priority 0: Python SDK <= 3.3.0 sent generations as type "span".
  if (
    attributes[ATTR.OBSERVATION_TYPE] === 'span' &&
    scope?.name === 'langfuse-sdk' &&
    resource['telemetry.sdk.language'] === 'python'
  ) {
    const [major = 0, minor = 0] = (scope.version ?? '').split('.').map(Number);
    const old = !scope.version || !(major > 3 || (major === 3 && minor > 3));
    if (old && Object.keys(attributes).some((key) => GENERATION_KEYS.includes(key)))
      return 'GENERATION';
  }
  for (const [key, mapping] of DIRECT_TYPES) {
    const mapped = meaningful(attributes[key]) ? mapping[attributes[key] as string] : undefined;
    if (mapped) return mapped;
  }
  if (meaningful(attributes['gen_ai.tool.name']) || meaningful(attributes['gen_ai.tool.call.id'])) {
    return 'TOOL';
  }
  const modelKeys = [
    ATTR.OBSERVATION_MODEL,
    'gen_ai.request.model',
    'gen_ai.response.model',
    'llm.model_name',
    'model',
  ];
  return modelKeys.some((key) => meaningful(attributes[key])) ? 'GENERATION' : 'SPAN';
}
