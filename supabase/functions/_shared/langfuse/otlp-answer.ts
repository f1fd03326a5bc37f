/**
 * What an OTLP/HTTP trace export was answered, read as the OTLP
 * specification says (opentelemetry.io/docs/specs/otlp, "OTLP/HTTP Response"
 * and "Partial Success"; the comments of opentelemetry-proto's
 * collector/trace/v1/trace_service.proto): a success is 200 with an
 * ExportTraceServiceResponse in the request's encoding;
 * `partialSuccess.rejectedSpans` > 0 means the server dropped that many
 * spans, `errorMessage` says why. Unknown fields are ignored.
 *
 * Langfuse answers 200 with a JSON object (the queued ingestion job, or `{}`
 * for an empty export: web/src/pages/api/public/otel/v1/traces/index.ts) and
 * never a partial success, but whatever sits in front of it may answer
 * anything: an HTML page with 200 from a proxy or a captive portal is not an
 * export Langfuse took. So a 2xx counts only when its body is an
 * ExportTraceServiceResponse: empty, a JSON object, or protobuf by its content
 * type (decoded by OpenTelemetry's own deserializer).
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { z } from 'zod';

export type OtlpAnswer =
  | { valid: true; rejectedSpans: number; errorMessage: string | null }
  | { valid: false; error: string };

/** OTLP/JSON: int64 may come as a number or a decimal string. */
const Int64 = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+$/).transform(Number),
]);

export const ExportTraceServiceResponseJson = z.object({
  partialSuccess: z
    .object({
      rejectedSpans: Int64.optional(),
      errorMessage: z.string().optional(),
    })
    .nullish(),
});

function preview(body: Uint8Array): string {
  return new TextDecoder().decode(body.subarray(0, 200)).replace(/\s+/g, ' ').trim();
}

function fromPartial(
  partial: { rejectedSpans?: number; errorMessage?: string } | null | undefined,
) {
  return {
    valid: true as const,
    rejectedSpans: Number(partial?.rejectedSpans ?? 0),
    errorMessage: partial?.errorMessage || null,
  };
}

export function readOtlpAnswer(contentType: string | null, body: Uint8Array): OtlpAnswer {
  // An empty protobuf message is zero bytes; Langfuse-compatible servers send nothing too.
  if (body.byteLength === 0) return fromPartial(null);
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('application/x-protobuf')) {
    try {
      return fromPartial(ProtobufTraceSerializer.deserializeResponse(body)?.partialSuccess);
    } catch (error) {
      return {
        valid: false,
        error: `a protobuf answer that is no ExportTraceServiceResponse (${String(error)})`,
      };
    }
  }
  if (type.includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body));
    } catch {
      return { valid: false, error: `a JSON answer that does not parse: ${preview(body)}` };
    }
    const result = ExportTraceServiceResponseJson.safeParse(parsed);
    if (!result.success || Array.isArray(parsed)) {
      return {
        valid: false,
        error: `a JSON answer that is no ExportTraceServiceResponse: ${preview(body)}`,
      };
    }
    return fromPartial(result.data.partialSuccess);
  }
  return {
    valid: false,
    error: `not an OTLP answer (${contentType || 'no content type'}): ${preview(body)}`,
  };
}

/**
 * Why a bounded request to Langfuse failed: its deadline when the signal
 * ended it (headers or body), else the error's own message.
 */
export function failureMessage(error: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return `no complete answer within ${timeoutMs} ms`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The body of `res`, at most `maxBytes`. The request's abort signal bounds
 * this read too: a body that never ends fails when the signal fires.
 */
export async function readBody(res: Response, maxBytes: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new Error(`the answer is longer than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
