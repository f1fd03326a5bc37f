/**
 * Observation fields Langfuse derives from span attributes: level,
 * input/output, usage and cost details. Ported from
 * packages/shared/src/server/otel/OtelIngestionProcessor.ts
 * (parseObservationLevel, extractInputAndOutput, extractUsageDetails,
 * extractGenericGenAiUsageDetails, extractCostDetails) at commit 62751446,
 * limited to the Langfuse SDK and the vendor-neutral OTel GenAI conventions.
 */
import { ATTR, type Attributes, jsonObjectAttribute } from './otel-attributes.ts';

/** OtelIngestionProcessor.ts OBSERVATION_LEVEL_ALIASES: foreign level words -> Langfuse's. */
const LEVEL_ALIASES: Record<string, string> = {
  DEBUG: 'DEBUG',
  TRACE: 'DEBUG',
  VERBOSE: 'DEBUG',
  DEFAULT: 'DEFAULT',
  INFO: 'DEFAULT',
  LOG: 'DEFAULT',
  NOTICE: 'DEFAULT',
  OK: 'DEFAULT',
  SUCCESS: 'DEFAULT',
  WARNING: 'WARNING',
  WARN: 'WARNING',
  ERROR: 'ERROR',
  FATAL: 'ERROR',
  CRITICAL: 'ERROR',
};

/** createObservationEvent `level`: the attribute (aliased), else span status code 2 -> ERROR. */
export function observationLevel(attributes: Attributes, statusCode: unknown): string {
  const value = attributes[ATTR.OBSERVATION_LEVEL];
  const aliased = typeof value === 'string' ? LEVEL_ALIASES[value.trim().toUpperCase()] : undefined;
  return aliased ?? (statusCode === 2 ? 'ERROR' : 'DEFAULT');
}

/** Attribute keys extractInputAndOutput removes from `metadata.attributes` (whatever vendor). */
const IO_KEYS = new Set([
  ATTR.TRACE_INPUT,
  ATTR.TRACE_OUTPUT,
  ATTR.OBSERVATION_INPUT,
  ATTR.OBSERVATION_OUTPUT,
  'ai.prompt.messages',
  'ai.prompt',
  'ai.toolCall.args',
  'ai.response.text',
  'ai.result.text',
  'ai.toolCall.result',
  'ai.response.object',
  'ai.result.object',
  'ai.response.toolCalls',
  'ai.result.toolCalls',
  'gcp.vertex.agent.llm_request',
  'gcp.vertex.agent.llm_response',
  'gcp.vertex.agent.tool_call_args',
  'gcp.vertex.agent.tool_response',
  'prompt',
  'all_messages_events',
  'events',
  'lk.input_text',
  'lk.user_transcript',
  'lk.chat_ctx',
  'lk.user_input',
  'lk.function_tool.output',
  'lk.response.text',
  'mlflow.spanInputs',
  'mlflow.spanOutputs',
  'traceloop.entity.input',
  'traceloop.entity.output',
  'input.value',
  'output.value',
  'final_result',
  'pydantic_ai.all_messages',
  'gen_ai.system_instructions',
  'input',
  'output',
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.tool.call.arguments',
  'gen_ai.tool.call.result',
  'genkit:input',
  'genkit:output',
  'flue.turn.input',
  'flue.turn.output',
  'flue.tool.arguments',
  'flue.tool.result',
  'flue.task.prompt',
  'flue.task.result',
  'flue.operation.result',
  'flue.workflow.payload',
  'flue.workflow.result',
]);
const IO_PREFIXES = [
  'gen_ai.prompt',
  'gen_ai.completion',
  'llm.input_messages',
  'llm.output_messages',
  'langfuse.trace.metadata',
  'langfuse.observation.metadata',
  'ai.telemetry.metadata',
];

/**
 * extractInputAndOutput: for a trace, langfuse.trace.input/output when set,
 * else the observation's; then the OTel GenAI message attributes. Also the
 * span's other attributes (stringified), which become `metadata.attributes`
 * for spans that do not come from a `langfuse-sdk*` scope.
 */
export function inputOutput(
  attributes: Attributes,
  domain: 'trace' | 'observation',
  withFilteredAttributes = true,
): { input: unknown; output: unknown; filteredAttributes: Record<string, string> } {
  const filteredAttributes: Record<string, string> = {};
  for (const [key, value] of withFilteredAttributes ? Object.entries(attributes) : []) {
    if (IO_KEYS.has(key) || IO_PREFIXES.some((prefix) => key.startsWith(prefix))) continue;
    filteredAttributes[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  let input =
    domain === 'trace' && attributes[ATTR.TRACE_INPUT]
      ? attributes[ATTR.TRACE_INPUT]
      : attributes[ATTR.OBSERVATION_INPUT];
  let output =
    domain === 'trace' && attributes[ATTR.TRACE_OUTPUT]
      ? attributes[ATTR.TRACE_OUTPUT]
      : attributes[ATTR.OBSERVATION_OUTPUT];
  if (input != null || output != null) return { input, output, filteredAttributes };
  input = attributes['gen_ai.input.messages'];
  output = attributes['gen_ai.output.messages'];
  if (!input && !output) {
    input = attributes['gen_ai.tool.call.arguments'];
    output = attributes['gen_ai.tool.call.result'];
  }
  return input || output
    ? { input, output, filteredAttributes }
    : { input: null, output: null, filteredAttributes };
}

/** extractGenericGenAiUsageDetails: gen_ai.usage.* / llm.token_count.* onto Langfuse's keys. */
function genericUsage(attributes: Attributes): Record<string, number> {
  const raw: Record<string, number> = {};
  for (const key of Object.keys(attributes)) {
    const usage = key.startsWith('gen_ai.usage.') && key !== 'gen_ai.usage.cost';
    if (!usage && !key.startsWith('llm.token_count.')) continue;
    const value = Number(attributes[key]);
    if (!Number.isNaN(value))
      raw[key.replace('gen_ai.usage.', '').replace('llm.token_count.', '')] = value;
  }
  if (Object.keys(raw).length === 0) return {};
  const pick = (keys: string[]) => keys.map((k) => raw[k]).find((v) => v !== undefined);
  const groups = {
    input: ['prompt_tokens', 'input_tokens', 'prompt'],
    output: ['completion_tokens', 'output_tokens', 'completion'],
    total: ['total_tokens', 'total'],
    input_cached_tokens: [
      'cache_read.input_tokens',
      'cache_read_input_tokens',
      'cache_read_tokens',
      'details.cache_read_tokens',
      'details.cache_read_input_tokens',
      'prompt_details.cache_read',
      'input_cached_tokens',
    ],
    input_cache_creation: [
      'cache_creation.input_tokens',
      'cache_creation_input_tokens',
      'cache_write_tokens',
      'details.cache_write_tokens',
      'details.cache_creation_input_tokens',
      'prompt_details.cache_write',
      'input_cache_creation',
    ],
    output_reasoning_tokens: ['reasoning.output_tokens', 'completion_details.reasoning'],
    output_audio_tokens: ['completion_details.audio'],
  };
  const consumed = new Set(Object.values(groups).flat());
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!consumed.has(key))
      out[key.startsWith('details.') ? key.replace('details.', '') : key] = value;
  }
  const [input, output, total, cacheRead, cacheCreation, reasoning, audio] =
    Object.values(groups).map(pick);
  if (input !== undefined) out.input = Math.max(input - (cacheRead ?? 0) - (cacheCreation ?? 0), 0);
  if (output !== undefined) out.output = Math.max(output - (reasoning ?? 0) - (audio ?? 0), 0);
  if (total !== undefined) out.total = total;
  if (cacheRead !== undefined) out.input_cached_tokens = cacheRead;
  if (cacheCreation !== undefined) out.input_cache_creation = cacheCreation;
  if (reasoning !== undefined) out.output_reasoning_tokens = reasoning;
  if (audio !== undefined) out.output_audio_tokens = audio;
  return out;
}

/** extractUsageDetails: the langfuse.observation.usage_details JSON, else the GenAI usage keys. */
export function usageDetails(attributes: Attributes): Attributes {
  return (
    jsonObjectAttribute(attributes, ATTR.OBSERVATION_USAGE_DETAILS) ?? genericUsage(attributes)
  );
}

/** extractCostDetails: the cost_details attribute; else gen_ai.usage.cost, llm.cost.total. */
export function costDetails(attributes: Attributes): Attributes {
  const fromAttribute = jsonObjectAttribute(attributes, ATTR.OBSERVATION_COST_DETAILS);
  if (fromAttribute !== null) return fromAttribute;
  for (const key of ['gen_ai.usage.cost', 'llm.cost.total']) {
    const value = attributes[key];
    if (value != null && value !== '') return { total: value };
  }
  return {};
}
