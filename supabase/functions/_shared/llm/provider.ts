/** The provider the configuration names, with our retries and the call's deadline around it. */
import type { LlmConfig } from '../config.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { createOpenAiProvider } from './openai.ts';
import { type RetryOptions, withRetries } from './retry.ts';
import type { LlmProvider } from './types.ts';

export function createLlmProvider(
  config: LlmConfig,
  options: Pick<RetryOptions, 'random'> = {},
): LlmProvider {
  const provider =
    config.provider === 'anthropic'
      ? createAnthropicProvider(config)
      : createOpenAiProvider(config);
  return withRetries(provider, {
    timeoutMs: config.timeoutMs,
    deadlineMs: config.deadlineMs,
    maxRetries: config.maxRetries,
    ...options,
  });
}
