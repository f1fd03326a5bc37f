/**
 * POST /api/public/ingestion on a Langfuse v4 server (write mode
 * "events_only"), ported from web/src/pages/api/public/ingestion.ts
 * (filterBatchForEventsOnly, EVENTS_ONLY_ALLOWED_TYPES,
 * EVENTS_ONLY_INGESTION_REMEDIATION) at commit 62751446: score-create and
 * sdk-log events go on to processEventBatch; every other event (or anything
 * without a string `type`) is refused with its own 400 in the 207, appended
 * after processEventBatch's errors, and is never stored.
 */

const EVENTS_ONLY_ALLOWED_TYPES = new Set(['score-create', 'sdk-log']);

const EVENTS_ONLY_INGESTION_REMEDIATION = [
  'Upgrade the client or integration to a v4-compatible SDK or OTLP ingestion path.',
  'As a temporary migration bridge, set LANGFUSE_MIGRATION_V4_WRITE_MODE=dual on both the web and worker services and redeploy.',
  'Docs: https://langfuse.com/self-hosting/upgrade/upgrade-guides/upgrade-v3-to-v4',
].join(' ');

export interface RejectedEvent {
  id: string;
  status: number;
  message: string;
  error: string;
}

export function filterBatchForEventsOnly(batch: unknown[]): {
  batchForProcessing: unknown[];
  rejectedErrors: RejectedEvent[];
} {
  const batchForProcessing: unknown[] = [];
  const rejectedErrors: RejectedEvent[] = [];
  for (const event of batch) {
    const object =
      typeof event === 'object' && event !== null
        ? (event as { id?: unknown; type?: unknown })
        : null;
    const type = object && typeof object.type === 'string' ? object.type : null;
    const id = object && typeof object.id === 'string' ? object.id : 'unknown';
    if (type && EVENTS_ONLY_ALLOWED_TYPES.has(type)) {
      batchForProcessing.push(event);
      continue;
    }
    rejectedErrors.push({
      id,
      status: 400,
      message: 'Event type not accepted',
      error: `Event type "${type ?? 'unknown'}" is not accepted by /api/public/ingestion when LANGFUSE_MIGRATION_V4_WRITE_MODE is events_only. This endpoint only accepts score and log events. ${EVENTS_ONLY_INGESTION_REMEDIATION}`,
    });
  }
  return { batchForProcessing, rejectedErrors };
}
