/**
 * Anthropic Messages through the official SDK. One request per call, timed out
 * by the SDK; the retries (529 included) and the call's deadline are retry.ts's.
 */
import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
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

export function createAnthropicProvider(config: LlmConfig): LlmProvider {
  const client = new Anthropic({
    apiKey: config.apiKey,
    baseURL: config.baseUrl,
    timeout: config.timeoutMs,
    // One attempt per call here: retry.ts retries, within the call's deadline.
    maxRetries: 0,
    fetch: sdkFetch,
  });
  const requestOptions = (request: LlmRequest) => ({
    signal: request.signal,
    timeout: request.timeoutMs ?? config.timeoutMs,
  });

  function body(request: LlmRequest) {
    return {
      model: request.model,
      system: request.system,
      messages: request.messages,
      max_tokens: request.maxOutputTokens,
    };
  }

  return {
    name: 'anthropic',

    async complete(request: LlmRequest): Promise<LlmResult> {
      try {
        const message = await client.messages.create(
          { ...body(request), stream: false },
          requestOptions(request),
        );
        const text = message.content
          .map((block) => (block.type === 'text' ? block.text : ''))
          .join('');
        return {
          text,
          model: message.model || request.model,
          usage: {
            inputTokens: message.usage.input_tokens,
            outputTokens: message.usage.output_tokens,
          },
        };
      } catch (error) {
        throw toLlmError(error, sdkErrors, request.signal);
      }
    },

    async *stream(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
      let text = '';
      let model = request.model;
      let inputTokens: number | null = null;
      let outputTokens: number | null = null;
      try {
        const events = await client.messages.create(
          { ...body(request), stream: true },
          requestOptions(request),
        );
        for await (const event of events) {
          if (event.type === 'message_start') {
            model = event.message.model || model;
            inputTokens = event.message.usage.input_tokens;
            outputTokens = event.message.usage.output_tokens;
          } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
            text += event.delta.text;
            yield { type: 'delta', text: event.delta.text };
          } else if (event.type === 'message_delta') {
            outputTokens = event.usage.output_tokens;
            if (event.usage.input_tokens != null) inputTokens = event.usage.input_tokens;
          }
        }
      } catch (error) {
        throw toLlmError(error, sdkErrors, request.signal);
      }
      // The SDK ends an aborted stream quietly: what came so far is not the answer.
      if (request.signal?.aborted) throw new LlmError('aborted', 'the request was aborted');
      const usage =
        inputTokens !== null && outputTokens !== null ? { inputTokens, outputTokens } : null;
      yield { type: 'done', result: { text, model, usage } };
    },
  };
}
