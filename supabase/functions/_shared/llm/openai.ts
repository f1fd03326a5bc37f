/**
 * OpenAI-compatible chat completions through the official SDK: OpenAI itself,
 * and DeepSeek, Groq, Ollama, vLLM or the local mock via OPENAI_BASE_URL. One
 * request per call, timed out by the SDK; the retries and the call's deadline
 * are retry.ts's.
 */
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from 'openai';
import type { LlmConfig } from '../config.ts';
import { toLlmError } from './errors.ts';
import { sdkFetch } from './sdk-fetch.ts';
import {
  LlmError,
  type LlmProvider,
  type LlmRequest,
  type LlmResult,
  type LlmStreamEvent,
} from './types.ts';

const sdkErrors = { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError };

/** Where a compatible server (OPENAI_BASE_URL) puts the output limit; api.openai.com's otherwise. */
export type OutputLimitField = 'max_tokens' | 'max_completion_tokens';

/** The chat completion's request body: the system prompt first, then the turns. */
export function chatCompletionBody(request: LlmRequest, limitField: OutputLimitField) {
  return {
    model: request.model,
    messages: [{ role: 'system' as const, content: request.system }, ...request.messages],
    [limitField]: request.maxOutputTokens,
  };
}

/** The provider's token counts, or null when it sent none. */
export function usageOf(
  usage: { prompt_tokens: number; completion_tokens: number } | null | undefined,
): LlmResult['usage'] {
  return usage ? { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens } : null;
}

/** A non-streamed chat completion as the pipeline sees it. */
export function completionResult(
  completion: {
    model?: string;
    choices: { message?: { content?: string | null } }[];
    usage?: { prompt_tokens: number; completion_tokens: number } | null;
  },
  requestedModel: string,
): LlmResult {
  return {
    text: completion.choices[0]?.message?.content ?? '',
    model: completion.model || requestedModel,
    usage: usageOf(completion.usage),
  };
}

export function createOpenAiProvider(config: LlmConfig): LlmProvider {
  const client = new OpenAI({
    apiKey: config.apiKey,
    baseURL: config.baseUrl,
    timeout: config.timeoutMs,
    // One attempt per call here: retry.ts retries, within the call's deadline.
    maxRetries: 0,
    fetch: sdkFetch,
  });
  // api.openai.com wants max_completion_tokens (reasoning models refuse
  // max_tokens); compatible servers mostly know only max_tokens.
  const limitField: OutputLimitField = config.baseUrl ? 'max_tokens' : 'max_completion_tokens';
  const requestOptions = (request: LlmRequest) => ({
    signal: request.signal,
    timeout: request.timeoutMs ?? config.timeoutMs,
  });

  const body = (request: LlmRequest) => chatCompletionBody(request, limitField);

  return {
    name: 'openai',

    async complete(request: LlmRequest): Promise<LlmResult> {
      try {
        const completion = await client.chat.completions.create(
          { ...body(request), stream: false },
          requestOptions(request),
        );
        return completionResult(completion, request.model);
      } catch (error) {
        throw toLlmError(error, sdkErrors, request.signal);
      }
    },

    async *stream(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
      let text = '';
      let model = request.model;
      let usage: LlmResult['usage'] = null;
      try {
        const chunks = await client.chat.completions.create(
          { ...body(request), stream: true, stream_options: { include_usage: true } },
          requestOptions(request),
        );
        for await (const chunk of chunks) {
          if (chunk.model) model = chunk.model;
          if (chunk.usage) usage = usageOf(chunk.usage);
          const delta = chunk.choices[0]?.delta?.content;
          if (delta) {
            text += delta;
            yield { type: 'delta', text: delta };
          }
        }
      } catch (error) {
        throw toLlmError(error, sdkErrors, request.signal);
      }
      // The SDK ends an aborted stream quietly: what came so far is not the answer.
      if (request.signal?.aborted) throw new LlmError('aborted', 'the request was aborted');
      yield { type: 'done', result: { text, model, usage } };
    },
  };
}
