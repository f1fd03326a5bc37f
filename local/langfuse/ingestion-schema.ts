/**
 * Langfuse's zod rules for one ingestion event, ported from
 * packages/shared/src/server/ingestion/types.ts (createAllIngestionSchemas,
 * public variant) at commit 62751446. processEventBatch runs every event of
 * POST /api/public/ingestion through them (a failure is that event's 400 in
 * the 207), and the OTel worker runs its generated events through them too
 * (a failure silently drops the event). The OpenAPI spec is looser: it does
 * not know e.g. that a BOOLEAN score must be 0 or 1.
 */
import { z } from 'zod';
import { CostDetails, jsonSchema, UsageDetails, usage } from './ingestion-fields.ts';

/** packages/shared/src/server/ingestion/types.ts: DEFAULT_TRACE_ENVIRONMENT. */
export const DEFAULT_ENVIRONMENT = 'default';

/** types.ts idSchema: 1..800 characters (room for the S3 key), no carriage return. */
export const idSchema = z
  .string()
  .min(1)
  .max(800)
  .refine((id) => !id.includes('\r'), { message: 'ID cannot contain carriage return characters' });

/** types.ts stringDateTime: ISO 8601 with `Z` or an offset, any sub-second precision. */
const stringDateTime = z.iso.datetime({ offset: true }).nullish();
const ObservationLevel = z.enum(['DEBUG', 'DEFAULT', 'WARNING', 'ERROR']);

/**
 * types.ts PublicEnvironmentName: lowercased, every leading `langfuse`
 * (+ optional `-`/`_`) stripped, cut to 40 characters; anything then empty or
 * outside [a-z0-9-_] (or not a string) becomes "default".
 */
const PublicEnvironmentName = z
  .string()
  .toLowerCase()
  .transform((value) => {
    const truncated = value.replace(/^(?:langfuse[-_]?)+/, '').slice(0, 40);
    return truncated && /^[a-z0-9-_]+$/.test(truncated) ? truncated : DEFAULT_ENVIRONMENT;
  })
  .catch(DEFAULT_ENVIRONMENT)
  .default(DEFAULT_ENVIRONMENT);

/** types.ts normalizeEnvironment (public): the same rule outside an event parse. */
export const normalizeEnvironment = (value: unknown): string => PublicEnvironmentName.parse(value);

const TraceBody = z.object({
  id: idSchema.nullish(),
  timestamp: stringDateTime,
  name: z.string().max(1000).nullish(),
  externalId: z.string().nullish(),
  input: z.any().nullish(),
  output: z.any().nullish(),
  sessionId: z.string().nullish(),
  userId: z.string().nullish(),
  environment: PublicEnvironmentName,
  metadata: jsonSchema.nullish(),
  release: z.string().nullish(),
  version: z.string().nullish(),
  public: z.boolean().nullish(),
  tags: z.array(z.string()).nullish(),
});

const ObservationBody = z.object({
  id: idSchema,
  traceId: idSchema.nullish(),
  environment: PublicEnvironmentName,
  name: z.string().nullish(),
  startTime: stringDateTime,
  metadata: jsonSchema.nullish(),
  input: z.any().nullish(),
  output: z.any().nullish(),
  level: ObservationLevel.nullish(),
  statusMessage: z.string().nullish(),
  parentObservationId: z.string().nullish(),
  version: z.string().nullish(),
});
const SpanBody = ObservationBody.extend({ endTime: stringDateTime });
const modelParameterValue = z
  .union([
    z.string(),
    z.number(),
    z.boolean(),
    z.array(z.string()),
    z.record(z.string(), z.string()),
  ])
  .nullish();
const GenerationBody = SpanBody.extend({
  completionStartTime: stringDateTime,
  model: z.string().nullish(),
  modelParameters: z.record(z.string(), modelParameterValue).nullish(),
  usage,
  usageDetails: UsageDetails,
  costDetails: CostDetails,
  promptName: z.string().nullish(),
  promptVersion: z.number().int().nullish(),
}).refine((v) => !v.promptName === !v.promptVersion, {
  message: 'promptName and promptVersion must be set together',
});

/** types.ts LegacyObservationBody (observation-create / observation-update). */
const LegacyObservationBody = z.object({
  id: idSchema.nullish(),
  traceId: idSchema.nullish(),
  type: z.enum(['GENERATION', 'SPAN', 'EVENT']),
  name: z.string().nullish(),
  startTime: stringDateTime,
  endTime: stringDateTime,
  completionStartTime: stringDateTime,
  model: z.string().nullish(),
  modelParameters: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).nullish())
    .nullish(),
  input: jsonSchema.nullish(),
  output: jsonSchema.nullish(),
  usage,
  usageDetails: UsageDetails,
  costDetails: CostDetails,
  metadata: jsonSchema.nullish(),
  parentObservationId: z.string().nullish(),
  level: ObservationLevel.nullish(),
  statusMessage: z.string().nullish(),
  version: z.string().nullish(),
});

const BaseScoreBody = z.object({
  id: idSchema.nullish(),
  name: z.string().min(1),
  traceId: z.string().nullish(),
  sessionId: z.string().nullish(),
  datasetRunId: z.string().nullish(),
  environment: PublicEnvironmentName,
  observationId: z.string().nullish(),
  comment: z.string().nullish(),
  metadata: jsonSchema.nullish(),
  source: z.enum(['API', 'EVAL', 'ANNOTATION']).default('API'),
  executionTraceId: z.string().nullish(),
  queueId: z.string().nullish(),
});
const configId = z.string().nullish();
/** types.ts ScoreBody + packages/shared/src/utils/scores.ts applyScoreValidation. */
const ScoreBody = z
  .discriminatedUnion('dataType', [
    BaseScoreBody.extend({ value: z.number(), dataType: z.literal('NUMERIC'), configId }),
    BaseScoreBody.extend({ value: z.string(), dataType: z.literal('CATEGORICAL'), configId }),
    BaseScoreBody.extend({
      value: z.number().refine((value) => value === 0 || value === 1, {
        message: 'Value must be a number equal to either 0 or 1 for data type BOOLEAN',
      }),
      dataType: z.literal('BOOLEAN'),
      configId,
    }),
    BaseScoreBody.extend({
      value: z.string(),
      dataType: z.literal('CORRECTION'),
      configId: z.undefined().nullish(),
    }),
    BaseScoreBody.extend({
      value: z.string().min(1).max(500),
      dataType: z.literal('TEXT'),
      configId,
    }),
    BaseScoreBody.extend({
      value: z.union([z.string(), z.number()]),
      dataType: z.undefined(),
      configId,
    }),
  ])
  .refine(
    (d) => {
      const [trace, session, run] = [!!d.traceId, !!d.sessionId, !!d.datasetRunId];
      return (
        (trace && !session && !run) ||
        (session && !trace && !run && !d.observationId) ||
        (run && !trace && !session && !d.observationId)
      );
    },
    {
      message:
        'Provide exactly one of the following: traceId (with optional observationId), ' +
        'sessionId or datasetRunId. ObservationId requires traceId.',
      path: ['traceId', 'sessionId', 'datasetRunId', 'observationId'],
    },
  );

/**
 * Langfuse pins zod 4.3.6, where a body without `dataType` matches the
 * `dataType: z.undefined()` member; zod >= 4.4 (installed here) wants the key
 * present. Adding it as undefined keeps Langfuse's behaviour.
 */
const ScoreBodyWithDataTypeKey = z.preprocess(
  (body) =>
    body && typeof body === 'object' && !('dataType' in body)
      ? Object.assign({}, body, { dataType: undefined })
      : body,
  ScoreBody,
);

const base = z.object({
  id: idSchema,
  timestamp: z.iso.datetime({ offset: true }),
  metadata: jsonSchema.nullish(),
});
const event = <T extends string, B extends z.ZodType>(type: T, body: B) =>
  base.extend({ type: z.literal(type), body });

export const ingestionEventSchema = z.discriminatedUnion('type', [
  event('trace-create', TraceBody),
  event('score-create', ScoreBodyWithDataTypeKey),
  event('event-create', ObservationBody),
  event('span-create', SpanBody),
  event('span-update', SpanBody),
  event('generation-create', GenerationBody),
  event('generation-update', GenerationBody),
  event('agent-create', GenerationBody),
  event('tool-create', GenerationBody),
  event('chain-create', GenerationBody),
  event('retriever-create', GenerationBody),
  event('evaluator-create', GenerationBody),
  event('embedding-create', GenerationBody),
  event('guardrail-create', GenerationBody),
  event('sdk-log', z.object({ log: jsonSchema, id: z.string().nullish() })),
  event('dataset-run-item-create', z.object({ id: idSchema.nullish() })).refine(() => false, {
    message: 'Dataset run item creation is only allowed for internal usage',
  }),
  event('observation-create', LegacyObservationBody),
  event('observation-update', LegacyObservationBody),
]);

export type IngestionEvent = z.infer<typeof ingestionEventSchema>;
export type TraceEvent = Extract<IngestionEvent, { type: 'trace-create' }>;
export type ScoreEvent = Extract<IngestionEvent, { type: 'score-create' }>;
export type ScoreEventBody = ScoreEvent['body'];
/** Every event kind Langfuse stores as an observation. */
export type ObservationEvent = Exclude<
  IngestionEvent,
  { type: 'trace-create' | 'score-create' | 'sdk-log' | 'dataset-run-item-create' }
>;
