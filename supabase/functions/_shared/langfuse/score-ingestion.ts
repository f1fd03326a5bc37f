/**
 * Scores as score-create events on POST /api/public/ingestion, through
 * @langfuse/client. Langfuse v4 in events-only mode still takes score-create
 * there (every other event type is refused per event), and it is the one path
 * where we date the score ourselves: Langfuse files a score under the
 * envelope's timestamp (processScoreEventList in its IngestionService) and
 * overwrites it only when id, name and that timestamp's date match
 * (langfuse-docs faq/all/tracing-data-updates.mdx); it merges a score's events
 * in timestamp order, and ties merge in no dependable order. So an event is
 * dated by the score's creation plus one millisecond per change
 * (content_version): a feedback changed on a later day still overwrites the
 * same score, the newest content last. The envelope id names the content
 * (`<id>:<updated_at>`), so a retry is the same event and a change a new one.
 *
 * The answer must be an IngestionResponse (the spec's schema), read per
 * event; anything else is a failed attempt. When Langfuse no longer takes
 * score-create here (the endpoint gone, or the event type refused), the batch
 * says so and the sync moves to POST /api/public/scores (score-create.ts).
 */
import type { LangfuseClient } from '@langfuse/client';
import { z } from 'zod';
import { requestFailure, requestOptions } from './client-calls.ts';
import type { LangfuseSettings } from './config.ts';
import { type Outcome, outcomeForStatus } from './retry.ts';
import type { PendingScore } from './scores.ts';
import { langfuseTraceId } from './trace-id.ts';

/** Langfuse's limits: at most 3.5 MB a request; 100 events keeps requests small and fast. */
export const MAX_EVENTS_PER_BATCH = 100;
export const MAX_BATCH_BYTES = 3_400_000;

export interface ScoreBody {
  id: string;
  traceId: string;
  name: string;
  value: number;
  dataType: 'BOOLEAN';
  /** null clears a comment in Langfuse; an absent one would keep the old. */
  comment: string | null;
  metadata?: unknown;
  environment: string;
}

export interface ScoreEvent {
  type: 'score-create';
  id: string;
  timestamp: string;
  body: ScoreBody;
}

/** The score as Langfuse takes it: its Langfuse id, its trace's Langfuse id, its trace's environment. */
export function scoreBody(row: PendingScore, environment: string): ScoreBody {
  return {
    id: row.langfuse_score_id ?? row.id,
    traceId: langfuseTraceId(row.trace_id),
    name: row.score_name,
    value: Number(row.value),
    dataType: 'BOOLEAN',
    comment: row.comment || null,
    ...(row.metadata ? { metadata: row.metadata } : {}),
    environment: row.environment ?? environment,
  };
}

/** The timestamp of a score's events: its creation, a millisecond later for each change. */
const eventTime = (row: PendingScore) =>
  new Date(row.created_at.getTime() + Number(row.content_version ?? 0));

export function scoreEvent(row: PendingScore, environment: string): ScoreEvent {
  const body = scoreBody(row, environment);
  return {
    type: 'score-create',
    id: `${body.id}:${row.updated_at.getTime()}`,
    timestamp: eventTime(row).toISOString(),
    body,
  };
}

/** The UTC date Langfuse files a score under when it is sent as an event. */
export const ingestedScoreDate = (row: PendingScore): string =>
  eventTime(row).toISOString().slice(0, 10);

/** The longest prefix of `events` that fits one request. */
export function fitBatch<T>(events: T[], maxBytes = MAX_BATCH_BYTES): T[] {
  let bytes = 20;
  const fitted: T[] = [];
  for (const event of events) {
    bytes += new TextEncoder().encode(JSON.stringify(event)).byteLength + 1;
    if (fitted.length > 0 && bytes > maxBytes) break;
    fitted.push(event);
  }
  return fitted;
}

/** POST /api/public/ingestion's answer (IngestionResponse in Langfuse's OpenAPI spec). */
export const IngestionResponseSchema = z.object({
  successes: z.array(z.object({ id: z.string(), status: z.number().int() })),
  errors: z.array(
    z.object({
      id: z.string(),
      status: z.number().int(),
      message: z.string().nullish(),
      error: z.unknown().optional(),
    }),
  ),
});

/**
 * A route that is not there any more, or an event type it no longer takes:
 * v4's events-only filter answers such an event 400 "Event type not accepted"
 * (web/src/pages/api/public/ingestion.ts, filterBatchForEventsOnly, at
 * Langfuse commit 62751446), today for every type but score-create and sdk-log.
 */
const GONE_STATUSES = new Set([404, 405, 410]);
const GONE_MESSAGE =
  /event type not accepted|is not accepted by \/api\/public\/ingestion|no longer/i;

export interface IngestionAnswer {
  /** By score id; a row without one was not sent. */
  outcomes: Map<string, Outcome>;
  stop: string | null;
  /** The whole request refused for keys or permissions: the rows are not at fault. */
  refused: boolean;
  /** Langfuse no longer takes score-create on this endpoint: use the scores API. */
  gone: boolean;
}

/** Sends the rows' events (as many as fit one request) and reads the answer per event. */
export async function ingestScores(
  client: LangfuseClient,
  langfuse: LangfuseSettings,
  rows: PendingScore[],
  environment: string,
  now: Date,
): Promise<IngestionAnswer> {
  const events = fitBatch(rows.map((row) => scoreEvent(row, environment)));
  const scoreOfEvent = new Map(events.map((event, i) => [event.id, rows[i]?.id as string]));
  const answer: IngestionAnswer = { outcomes: new Map(), stop: null, refused: false, gone: false };
  const options = requestOptions(langfuse);
  let raw: unknown;
  try {
    // The spec allows a null comment (ScoreBody.comment is nullable); the SDK's type does not.
    const batch = events as unknown as Parameters<
      LangfuseClient['api']['ingestion']['batch']
    >[0]['batch'];
    raw = await client.api.ingestion.batch({ batch }, options);
  } catch (error) {
    const failure = requestFailure(error, now, 'ingestion', options.abortSignal);
    answer.stop = failure.stop;
    if (failure.status !== null && GONE_STATUSES.has(failure.status)) answer.gone = true;
    // Refused for keys or permissions: not these rows' fault; they stay as they were.
    else if (failure.outcome.kind === 'rejected') answer.refused = true;
    else for (const scoreId of scoreOfEvent.values()) answer.outcomes.set(scoreId, failure.outcome);
    return answer;
  }
  const parsed = IngestionResponseSchema.safeParse(raw);
  if (!parsed.success) {
    const error = `an answer that is no IngestionResponse: ${JSON.stringify(raw)?.slice(0, 200)}`;
    for (const scoreId of scoreOfEvent.values())
      answer.outcomes.set(scoreId, { kind: 'retry', error });
    answer.stop = `ingestion failed: ${error}`;
    return answer;
  }
  for (const success of parsed.data.successes) {
    const scoreId = scoreOfEvent.get(success.id);
    if (scoreId) answer.outcomes.set(scoreId, outcomeForStatus(success.status, ''));
  }
  for (const error of parsed.data.errors) {
    const scoreId = scoreOfEvent.get(error.id);
    const detail = [error.message, error.error ? JSON.stringify(error.error) : '']
      .filter(Boolean)
      .join(' ');
    if (GONE_STATUSES.has(error.status) || (error.status === 400 && GONE_MESSAGE.test(detail))) {
      answer.gone = true;
      continue;
    }
    if (scoreId)
      answer.outcomes.set(
        scoreId,
        outcomeForStatus(error.status, `${error.status} ${detail}`.trim()),
      );
  }
  if (answer.gone) {
    // Nothing of a refused event type was taken: those rows go again by the scores API.
    answer.stop = 'ingestion no longer takes score-create';
    return answer;
  }
  // An event the answer does not name was not taken.
  for (const scoreId of scoreOfEvent.values())
    if (!answer.outcomes.has(scoreId))
      answer.outcomes.set(scoreId, { kind: 'retry', error: 'no result for this event' });
  return answer;
}
