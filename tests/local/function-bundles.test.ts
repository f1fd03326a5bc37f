/**
 * Each Edge Function ships only what it uses (its module graph, from
 * `deno info`), and its bundle (`deno bundle`) stays within its budget, far
 * under hosted Supabase's 20 MB a function: health, feedback, budget and
 * langfuse-sync carry no LLM SDK; a coach function loads its provider's SDK
 * only when it first needs it.
 */
import { describe, expect, it } from 'vitest';
import {
  BUNDLE_BUDGET_BYTES,
  bundleBytes,
  functionGraph,
  functionNames,
} from '../../local/tooling/function-bundles.ts';

const LLM_SDKS = ['openai', '@anthropic-ai/sdk'];
const COACH = ['ai-coach', 'daily-status', 'encouragement', 'reflection'];

describe('what each function imports', () => {
  it.each(['health', 'feedback', 'budget', 'langfuse-sync'])(
    '%s carries no LLM SDK',
    async (name) => {
      const graph = await functionGraph(name);
      expect(graph.allPackages.has('postgres')).toBe(true);
      for (const sdk of LLM_SDKS) expect([...graph.allPackages]).not.toContain(sdk);
    },
  );

  it('health carries neither Langfuse nor OpenTelemetry', async () => {
    const packages = [...(await functionGraph('health')).allPackages];
    expect(
      packages.filter((p) => p.startsWith('@langfuse') || p.startsWith('@opentelemetry')),
    ).toEqual([]);
  });

  it.each(COACH)('%s loads an LLM SDK only on first use, the configured one', async (name) => {
    const graph = await functionGraph(name);
    for (const sdk of LLM_SDKS) {
      expect(graph.staticPackages.has(sdk)).toBe(false);
      expect(graph.allPackages.has(sdk)).toBe(true);
    }
  });
});

describe('bundle sizes', () => {
  it('every function has a budget', async () => {
    expect(Object.keys(BUNDLE_BUDGET_BYTES).sort()).toEqual(await functionNames());
  });

  it.each(Object.entries(BUNDLE_BUDGET_BYTES))(
    '%s stays within %i bytes',
    async (name, budget) => {
      const bytes = await bundleBytes(name);
      expect(bytes).toBeGreaterThan(100_000);
      expect(bytes).toBeLessThanOrEqual(budget);
    },
    60_000,
  );
});
