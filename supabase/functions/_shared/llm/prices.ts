/**
 * What a call costs: the one price table, in US dollars per million tokens.
 * A model missing from the table costs null (unknown), never 0.
 */
import type { LlmUsage } from './types.ts';

export interface ModelPrice {
  inputPerMillion: number;
  outputPerMillion: number;
}

/** Published list prices. Longer keys win, so dated snapshots match their family. */
export const MODEL_PRICES: Record<string, ModelPrice> = {
  'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 },
  'gpt-4.1-nano': { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  'gpt-4.1-mini': { inputPerMillion: 0.4, outputPerMillion: 1.6 },
  'gpt-4.1': { inputPerMillion: 2, outputPerMillion: 8 },
  'o4-mini': { inputPerMillion: 1.1, outputPerMillion: 4.4 },
  'claude-3-5-haiku': { inputPerMillion: 0.8, outputPerMillion: 4 },
  'claude-3-7-sonnet': { inputPerMillion: 3, outputPerMillion: 15 },
  'claude-sonnet-4': { inputPerMillion: 3, outputPerMillion: 15 },
  'claude-opus-4': { inputPerMillion: 15, outputPerMillion: 75 },
  'deepseek-chat': { inputPerMillion: 0.27, outputPerMillion: 1.1 },
  'llama-3.1-8b-instant': { inputPerMillion: 0.05, outputPerMillion: 0.08 },
};

const keysLongestFirst = Object.keys(MODEL_PRICES).sort((a, b) => b.length - a.length);

export function priceOf(model: string): ModelPrice | null {
  const name = model.toLowerCase().replace(/^models\//, '');
  const key = keysLongestFirst.find(
    (candidate) => name === candidate || name.startsWith(`${candidate}-`),
  );
  return key ? (MODEL_PRICES[key] ?? null) : null;
}

/** Cost in USD, rounded to a micro-dollar fraction; null for an unknown model or usage. */
export function costUsd(model: string, usage: LlmUsage | null): number | null {
  const price = priceOf(model);
  if (!price || !usage) return null;
  const cost =
    (usage.inputTokens * price.inputPerMillion + usage.outputTokens * price.outputPerMillion) /
    1_000_000;
  return Math.round(cost * 1e10) / 1e10;
}
