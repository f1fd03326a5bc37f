/**
 * Which spans of an unconfirmed export Langfuse holds. Langfuse v4 keeps
 * every copy of a span id ("Traces and observations are immutable",
 * langfuse-docs faq/all/tracing-data-updates.mdx): after an export whose
 * answer was lost, sending it again would double the observations and their
 * cost. So such a trace is looked up first, by its span ids, with the
 * Observations API v2 (GET /api/public/v2/observations?traceId=..., core
 * fields only; web/src/pages/api/public/v2/observations/index.ts), and only
 * the spans Langfuse does not have are sent.
 *
 * A server without that API (Langfuse v3 answers 404: "only available in a
 * Langfuse v4 write mode") upserts observations by id, so there sending
 * everything again is harmless.
 */
import { z } from 'zod';
import type { LangfuseSettings } from './config.ts';
import { spanIdsOf } from './otel-spans.ts';
import { failureMessage, readBody } from './otlp-answer.ts';
import { langfuseTraceId } from './trace-id.ts';

/** How long after a lost answer the trace is looked up: Langfuse writes what it takes within seconds. */
export const LOOKUP_AFTER_SECONDS = 120;

const ObservationIds = z.object({ data: z.array(z.object({ id: z.string() })) });

export type SpansInLangfuse =
  /** The span ids Langfuse holds for the trace (its root and generation, or fewer). */
  | { kind: 'found'; spanIds: Set<string> }
  /** The server has no Observations API v2 (Langfuse v3): it upserts by id, resend all. */
  | { kind: 'no lookup' }
  | { kind: 'unknown'; error: string };

/** The spans of one trace that Langfuse holds, read within the Langfuse timeout. */
export async function spansInLangfuse(
  langfuse: LangfuseSettings,
  traceId: string,
  fetchImpl: typeof fetch = fetch,
): Promise<SpansInLangfuse> {
  const query = new URLSearchParams({
    traceId: langfuseTraceId(traceId),
    fields: 'core',
    limit: '100',
  });
  const auth = btoa(`${langfuse.publicKey}:${langfuse.secretKey}`);
  const signal = AbortSignal.timeout(langfuse.timeoutMs);
  try {
    const res = await fetchImpl(`${langfuse.baseUrl}/api/public/v2/observations?${query}`, {
      headers: { authorization: `Basic ${auth}` },
      signal,
    });
    const body = new TextDecoder().decode(await readBody(res, 2_000_000));
    if (res.status === 404) return { kind: 'no lookup' };
    if (!res.ok)
      return { kind: 'unknown', error: `lookup: HTTP ${res.status} ${body.slice(0, 200)}` };
    const parsed = ObservationIds.safeParse(JSON.parse(body));
    if (!parsed.success) return { kind: 'unknown', error: 'lookup: not an observations answer' };
    const expected = Object.values(spanIdsOf(traceId));
    const held = new Set(parsed.data.data.map((o) => o.id).filter((id) => expected.includes(id)));
    return { kind: 'found', spanIds: held };
  } catch (error) {
    return {
      kind: 'unknown',
      error: `lookup: ${failureMessage(error, signal, langfuse.timeoutMs)}`,
    };
  }
}
