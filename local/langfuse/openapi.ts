/**
 * Validators compiled once from Langfuse's published OpenAPI spec
 * (vendor/langfuse/openapi.yml): the ingestion event the server accepts, and
 * the response schemas its GET answers must satisfy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { projectRoot } from '../tooling/project.ts';

/** Langfuse's published OpenAPI spec (vendored; see vendor/README.md). */
export const LANGFUSE_OPENAPI_FILE = join(projectRoot, 'vendor', 'langfuse', 'openapi.yml');

/** Component schemas the local server answers with (or accepts). */
export type SpecSchemaName =
  | 'IngestionEvent'
  | 'IngestionResponse'
  | 'OtelTraceResponse'
  | 'TraceWithFullDetails'
  | 'GetScoresResponse'
  | 'ScoreV1'
  | 'Score'
  | 'SessionWithTraces'
  | 'ObservationsV2Response'
  | 'GetScoresV3Response'
  | 'CreateScoreRequest'
  | 'CreateScoreResponse';

/** Every `format` the spec names, so ajv can be told which ones it checks. */
const formatsInSpec = new Set<string>();

/** OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null type, refs point into one document. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'format' && typeof value === 'string') formatsInSpec.add(value);
    if (key === 'nullable' || key === 'example' || key === 'discriminator') continue;
    out[key] =
      key === '$ref' && typeof value === 'string'
        ? value.replace('#/', 'langfuse#/')
        : toJsonSchema(value);
  }
  const nullable = (node as { nullable?: boolean }).nullable === true;
  if (nullable && typeof out.type === 'string') out.type = [out.type, 'null'];
  // `$ref` with `nullable: true` (e.g. `trace` in GetScoresResponseData*): allow null too.
  if (nullable && typeof out.$ref === 'string')
    return { anyOf: [{ $ref: out.$ref }, { type: 'null' }] };
  return out;
}

let components: unknown;
const instances = new Map<'requests' | 'responses', Ajv>();
const compiled = new Map<string, ValidateFunction>();

/**
 * Requests are checked as they always were here (types and shapes, no string
 * formats: Langfuse's own zod rules judge timestamps afterwards); responses
 * also check `format: date-time`, so a view with a malformed date fails.
 */
function specAjv(kind: 'requests' | 'responses'): Ajv {
  let ajv = instances.get(kind);
  if (ajv) return ajv;
  if (!components) {
    // The spec reuses definitions through many YAML aliases; it is our own trusted file.
    const spec = parseYaml(readFileSync(LANGFUSE_OPENAPI_FILE, 'utf8'), { maxAliasCount: -1 }) as {
      components: unknown;
    };
    components = toJsonSchema(spec.components);
  }
  ajv = new Ajv({ strict: false, allErrors: true, validateFormats: kind === 'responses' });
  if (kind === 'responses') {
    addFormats(ajv, ['date-time']);
    // OpenAPI's numeric and other formats (double, int64...) carry no rule here.
    for (const format of formatsInSpec) if (format !== 'date-time') ajv.addFormat(format, true);
  }
  ajv.addSchema({ $id: 'langfuse', components });
  instances.set(kind, ajv);
  return ajv;
}

/** The validator of one component schema, compiled on first use and then reused. */
export function specValidator(
  name: SpecSchemaName,
  kind: 'requests' | 'responses' = 'responses',
): ValidateFunction {
  const key = `${kind}:${name}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = specAjv(kind).compile({ $ref: `langfuse#/components/schemas/${name}` });
    compiled.set(key, validate);
  }
  return validate;
}

/** A validator for one ingestion event, compiled from the OpenAPI spec's IngestionEvent schema. */
export function ingestionEventValidator(): ValidateFunction {
  return specValidator('IngestionEvent', 'requests');
}

/** `ajv` errors as short `path message` strings. */
export function specErrors(validate: ValidateFunction): string[] {
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim());
}
