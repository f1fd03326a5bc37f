/**
 * One OTLP/JSON export to Langfuse (/api/public/otel/v1/traces), ours rather
 * than an exporter's so that each request's fate is known: its whole answer
 * bounded by LANGFUSE_TIMEOUT_MS, and a 2xx counted only when its body is an
 * OTLP answer (otlp-answer.ts). The `x-langfuse-ingestion-version: 4` header
 * selects Langfuse v4's direct path; without it an export takes the legacy
 * dual-write path and can be minutes late (web/src/pages/api/public/otel/v1/
 * traces/index.ts; langfuse-docs "Migrate custom ingestion to Langfuse v4").
 * Langfuse v3 servers accept the header.
 */

import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { LangfuseSettings } from './config.ts';
import { buildSpans, type TraceRow } from './otel-spans.ts';
import { failureMessage, readBody, readOtlpAnswer } from './otlp-answer.ts';
import { parseRetryAfter, refusesTheCaller } from './retry.ts';

/** Langfuse's answer to an export is a small JSON object; anything much longer is not one. */
const MAX_ANSWER_BYTES = 1_000_000;

/**
 * OTLP/JSON of the rows, split in halves until each request fits `maxBytes`
 * (SYNC_OTLP_MAX_BYTES); a single row always goes, whatever its size. `keep`
 * leaves out spans Langfuse already holds.
 */
export function encodeTraceRequests(
  rows: TraceRow[],
  environment: string,
  maxBytes: number,
  keep: (span: ReadableSpan) => boolean = () => true,
): { rows: TraceRow[]; spans: number; body: Uint8Array }[] {
  const spans = buildSpans(rows, environment).filter(keep);
  const body = JsonTraceSerializer.serializeRequest(spans);
  if (!body) throw new Error('the OTLP serializer produced nothing');
  if (body.byteLength <= maxBytes || rows.length === 1)
    return [{ rows, spans: spans.length, body }];
  const half = Math.ceil(rows.length / 2);
  return [
    ...encodeTraceRequests(rows.slice(0, half), environment, maxBytes, keep),
    ...encodeTraceRequests(rows.slice(half), environment, maxBytes, keep),
  ];
}

export type ExportOutcome =
  | { kind: 'exported' }
  /** Langfuse refused the spans themselves: sending them again cannot help. */
  | { kind: 'rejected'; error: string }
  /** Refused for keys, permissions or address: the rows are not at fault. */
  | { kind: 'refused'; error: string }
  /** `unconfirmed`: Langfuse may have taken it (no answer, or a gateway's 502/504). */
  | { kind: 'retry'; error: string; retryAfterSeconds?: number; unconfirmed?: boolean };

/** One OTLP request, its whole answer within the Langfuse timeout. */
export async function postTraces(
  langfuse: LangfuseSettings,
  body: Uint8Array,
  spans: number,
  now: Date,
  fetchImpl: typeof fetch = fetch,
): Promise<ExportOutcome> {
  const auth = btoa(`${langfuse.publicKey}:${langfuse.secretKey}`);
  const signal = AbortSignal.timeout(langfuse.timeoutMs);
  try {
    const res = await fetchImpl(`${langfuse.baseUrl}/api/public/otel/v1/traces`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${auth}`,
        'content-type': 'application/json',
        'x-langfuse-ingestion-version': '4',
      },
      body: body as Uint8Array<ArrayBuffer>,
      signal,
    });
    const answer = await readBody(res, MAX_ANSWER_BYTES);
    if (res.status < 200 || res.status > 299) {
      const error = `HTTP ${res.status}: ${new TextDecoder().decode(answer.subarray(0, 500))}`;
      if (refusesTheCaller(res.status)) return { kind: 'refused', error };
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
        return { kind: 'rejected', error };
      return {
        kind: 'retry',
        error,
        retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after'), now),
        // A gateway that gave up waiting does not know whether Langfuse took it.
        unconfirmed: res.status === 502 || res.status === 504,
      };
    }
    const read = readOtlpAnswer(res.headers.get('content-type'), answer);
    if (!read.valid) {
      return { kind: 'retry', error: `HTTP ${res.status} with ${read.error}`, unconfirmed: true };
    }
    if (read.rejectedSpans > 0) {
      return {
        kind: 'rejected',
        error: `Langfuse rejected ${read.rejectedSpans} of ${spans} spans: ${read.errorMessage ?? 'no reason given'}`,
      };
    }
    return { kind: 'exported' };
  } catch (error) {
    // The request may have reached Langfuse before the answer was lost.
    return {
      kind: 'retry',
      error: failureMessage(error, signal, langfuse.timeoutMs),
      unconfirmed: true,
    };
  }
}
