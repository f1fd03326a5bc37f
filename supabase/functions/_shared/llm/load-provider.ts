/**
 * The configured provider, its SDK loaded on first use: a coach function
 * compiles and loads only the SDK it talks to (OpenAI or Anthropic), not
 * both, which keeps a cold start short. provider.ts builds the same provider
 * with both SDKs imported up front, for tests and scripts.
 */
import type { LlmConfig } from '../config.ts';
import { withRetries } from './retry.ts';
import type { LlmProvider } from './types.ts';

export async function loadLlmProvider(config: LlmConfig): Promise<LlmProvider> {
  const provider =
    config.provider === 'anthropic'
      ? (await import('./anthropic.ts')).createAnthropicProvider(config)
      : (await import('./openai.ts')).createOpenAiProvider(config);
  return withRetries(provider, {
    timeoutMs: config.timeoutMs,
    deadlineMs: config.deadlineMs,
    maxRetries: config.maxRetries,
  });
}
