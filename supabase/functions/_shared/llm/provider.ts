/** The provider the configuration names. */
import type { LlmConfig } from '../config.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { createOpenAiProvider } from './openai.ts';
import type { LlmProvider } from './types.ts';

export function createLlmProvider(config: LlmConfig): LlmProvider {
  return config.provider === 'anthropic'
    ? createAnthropicProvider(config)
    : createOpenAiProvider(config);
}
