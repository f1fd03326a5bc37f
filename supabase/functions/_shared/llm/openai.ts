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
  const limitField = config.baseUrl ? 'max_tokens' : 'max_completion_tokens';
  const requestOptions = (request: LlmRequest) => ({
    signal: request.signal,
    timeout: request.timeoutMs ?? config.timeoutMs,
  });

  function body(request: LlmRequest) {
    return {
      model: request.model,
      messages: [{ role: 'system' as const, content: request.system }, ...request.messages],
      [limitField]: request.maxOutputTokens,
    };
  }

  return {
    name: 'openai',

    async complete(request: LlmRequest): Promise<LlmResult> {
      try {
        const completion = await client.chat.completions.create(
          { ...body(request), stream: false },
          requestOptions(request),
        );
        const usage = completion.usage;
        return {
          text: completion.choices[0]?.message?.content ?? '',
          model: completion.model || request.model,
          usage: usage
            ? { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens }
            : null,
        };
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
          if (chunk.usage) {
            usage = {
              inputTokens: chunk.usage.prompt_tokens,
              outputTokens: chunk.usage.completion_tokens,
            };
          }
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
