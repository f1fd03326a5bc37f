/**
 * POST /api/public/scores (create one score), ported at commit 62751446 from
 * web/src/pages/api/public/scores/index.ts,
 * web/src/features/public-api/server/scores-api-service.ts (createScore) and
 * packages/shared/src/features/scores/interfaces/api/shared.ts (PostScoresBody):
 *
 *  - the body is checked by PostScoresBody (a failure is 400
 *    `{ message: "Invalid request data", error: issues }`);
 *  - a missing or empty id becomes a random UUID (`body.id || randomUUID()`);
 *  - the score goes through processEventBatch as one score-create event whose
 *    envelope timestamp is `new Date()` at the request, so the score is dated
 *    by the server's clock; a refused event answers its status with
 *    `{ message: <the event's error> }`;
 *  - success is 200 `{ id }` (CreateScoreResponse).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Answer, EventSink, IngestionEventRecord, Received } from './endpoints.ts';
import { jsonSchema } from './ingestion-fields.ts';
import { ingestionEventSchema } from './ingestion-schema.ts';

const Foundation = z.object({
  id: z.string().nullish(),
  name: z.string().min(1),
  traceId: z.string().nullish(),
  sessionId: z.string().nullish(),
  datasetRunId: z.string().nullish(),
  observationId: z.string().nullish(),
  comment: z.string().nullish(),
  metadata: jsonSchema.nullish(),
  environment: z.string().default('default'),
  queueId: z.string().nullish(),
  source: z.enum(['API', 'ANNOTATION']).default('API'),
});
const configId = z.string().nullish();
const ByDataType = z.discriminatedUnion('dataType', [
  z.object({ value: z.number(), dataType: z.literal('NUMERIC'), configId }),
  z.object({ value: z.string(), dataType: z.literal('CATEGORICAL'), configId }),
  z.object({
    value: z.number().refine((v) => v === 0 || v === 1, {
      message: 'Value must be a number equal to either 0 or 1 for data type BOOLEAN',
    }),
    dataType: z.literal('BOOLEAN'),
    configId,
  }),
  z.object({
    value: z.string(),
    dataType: z.literal('CORRECTION'),
    configId: z.undefined().nullish(),
  }),
  z.object({ value: z.string().min(1).max(500), dataType: z.literal('TEXT'), configId }),
  z.object({ value: z.union([z.string(), z.number()]), dataType: z.undefined(), configId }),
]);

/**
 * PostScoresBody (applyScoreValidation + the ANNOTATION rule). As in
 * ingestion-schema.ts, a body without `dataType` gets the key as undefined so
 * zod >= 4.4 picks the same union member as Langfuse's zod 4.3.6.
 */
const PostScoresBody = z.preprocess(
  (body) =>
    body && typeof body === 'object' && !('dataType' in body)
      ? Object.assign({}, body, { dataType: undefined })
      : body,
  Foundation.and(ByDataType)
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
          'Provide exactly one of the following: traceId (with optional observationId), sessionId or datasetRunId. ObservationId requires traceId.',
        path: ['traceId', 'sessionId', 'datasetRunId', 'observationId'],
      },
    )
    .refine((d) => !(d.source === 'ANNOTATION' && !d.configId && d.dataType !== 'CORRECTION'), {
      message: 'configId is required when source is ANNOTATION (except for CORRECTION scores).',
      path: ['configId'],
    }),
);

export function createScore(
  raw: Buffer,
  contentType: string,
  now: number,
  sink: EventSink,
  received: Pick<Received, 'scores' | 'scoreEvents'>,
): Answer {
  let payload: unknown = raw.toString('utf8');
  if (contentType.includes('application/json')) {
    try {
      payload = raw.byteLength === 0 ? {} : JSON.parse(payload as string);
    } catch {
      return { status: 400, body: 'Invalid JSON', text: true };
    }
  }
  const parsed = PostScoresBody.safeParse(payload);
  if (!parsed.success) {
    return { status: 400, body: { message: 'Invalid request data', error: parsed.error.issues } };
  }
  const body = parsed.data as Record<string, unknown>;
  const id = (body.id as string | null | undefined) || randomUUID();
  const event = {
    id: randomUUID(),
    type: 'score-create',
    timestamp: new Date(now).toISOString(),
    body: { ...body, id },
  };
  const checked = ingestionEventSchema.safeParse(event);
  if (!checked.success) return { status: 400, body: { message: checked.error.message } };
  received.scores.set(id, event.body);
  received.scoreEvents.push(event as IngestionEventRecord);
  sink.ingestBatch([checked.data]);
  return { status: 200, body: { id } };
}
