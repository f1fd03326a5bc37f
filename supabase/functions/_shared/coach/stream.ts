/**
 * The streamed answer: Server-Sent Events with text deltas, then one `done`
 * event (ids, traceId and the provider's usage), or one `error` event. A
 * client that disconnects cancels the LLM call, and the call is still traced,
 * flagged `stream_status: aborted`.
 */
import { corsHeaders } from '../http/cors.ts';
import { describeError } from '../http/errors.ts';
import { SSE_HEADERS, sseEvent } from '../http/sse.ts';
import { LlmError, type LlmResult } from '../llm/types.ts';
import { type CoachDeps, llmHttpError } from './deps.ts';
import { storeReply } from './store-reply.ts';
import { abortedTrace, type CallRecord, failureTrace } from './trace-builders.ts';

export function streamReply<Body extends { stream?: boolean | undefined }>(
  call: CallRecord<Body>,
  deps: CoachDeps,
  limitHeaders: Record<string, string>,
): Response {
  const llm = deps.llm;
  if (!llm) throw new Error('streamReply needs an LLM');
  const provider = llm;
  const upstream = new AbortController();
  const clientSignal = call.request.signal;
  let clientGone = false;
  let text = '';
  let firstTokenAt: number | null = null;

  const onClientAbort = () => {
    clientGone = true;
    upstream.abort();
  };
  clientSignal?.addEventListener('abort', onClientAbort, { once: true });

  async function run(out: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    const send = (event: string, data: unknown) => {
      if (!clientGone) out.enqueue(sseEvent(event, data));
    };
    let result: LlmResult | null = null;
    try {
      for await (const event of provider.stream({ ...call.request, signal: upstream.signal })) {
        if (event.type === 'delta') {
          firstTokenAt ??= performance.now();
          text += event.text;
          send('delta', { text: event.text });
        } else {
          result = event.result;
        }
      }
    } catch (error) {
      if (clientGone) {
        deps.traces.record(abortedTrace(call, text, firstTokenAt), null);
        return;
      }
      const failure =
        error instanceof LlmError ? error : new LlmError('upstream', describeError(error));
      deps.traces.record(failureTrace(call, failure, text, firstTokenAt), null);
      const http = llmHttpError(failure);
      send('error', { error: { code: http.code, message: http.message } });
      out.close();
      return;
    } finally {
      clientSignal?.removeEventListener('abort', onClientAbort);
    }
    if (!result || clientGone) {
      deps.traces.record(abortedTrace(call, text, firstTokenAt), null);
      return;
    }
    try {
      const outcome = await storeReply(call, deps, result, firstTokenAt);
      send('done', {
        ...outcome.fields,
        traceId: call.traceId,
        usage: outcome.usage,
        stored: outcome.stored,
      });
    } catch (error) {
      deps.log({
        level: 'error',
        msg: 'streamed reply not stored',
        traceId: call.traceId,
        error: describeError(error),
      });
      send('error', {
        error: {
          code: 'service_unavailable',
          message: 'The reply could not be saved. Please try again.',
        },
      });
    }
    if (!clientGone) out.close();
  }

  const body = new ReadableStream<Uint8Array>({
    start(out) {
      // Not awaited: the response must start flowing while the LLM answers.
      void run(out).catch((error) =>
        deps.log({ level: 'error', msg: 'stream failed', error: describeError(error) }),
      );
    },
    cancel() {
      onClientAbort();
    },
  });

  return new Response(body, {
    status: 200,
    headers: { ...corsHeaders, ...SSE_HEADERS, ...limitHeaders },
  });
}
