/**
 * One Langfuse id per trace row. Langfuse keys an OpenTelemetry trace by its
 * trace id as a hex string (OtelIngestionProcessor.parseId: the OTLP/JSON hex
 * as sent, protobuf bytes as lowercase hex), and joins a score to its trace by
 * exact string equality. Our trace_id is a UUID: its 16 bytes are the OTel
 * trace id, so the Langfuse id is the UUID's 32 hex digits, lowercase, without
 * dashes. Everything that names a trace to Langfuse (the span's trace id, a
 * score's traceId, a link into the UI) goes through langfuseTraceId.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX32 = /^[0-9a-f]{32}$/;

/** `0b7e2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b` -> `0b7e2a3c1d2e4f508a9b0c1d2e3f4a5b`. */
export function langfuseTraceId(traceId: string): string {
  if (!UUID.test(traceId)) throw new Error(`not a UUID trace id: ${traceId}`);
  return traceId.replaceAll('-', '').toLowerCase();
}

/** The inverse: the trace row's UUID for a Langfuse trace id. */
export function traceIdFromLangfuse(langfuseId: string): string {
  if (!HEX32.test(langfuseId)) throw new Error(`not a Langfuse trace id: ${langfuseId}`);
  const h = langfuseId;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The trace in Langfuse's UI: /trace/<id> redirects to the project's trace page. */
export function langfuseTraceUrl(baseUrl: string, traceId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/trace/${langfuseTraceId(traceId)}`;
}
