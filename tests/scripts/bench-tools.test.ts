/**
 * The pieces the benchmark measures with: the mock LLM in a process of its
 * own (npm run mock-llm), and per-process CPU accounting from /proc.
 */
import { describe, expect, it } from 'vitest';
import { distribution, markdownTable } from '../../scripts/lib/bench-stats.ts';
import { cpuMs } from '../../scripts/lib/cpu.ts';
import { startMockLlmProcess } from '../../scripts/lib/mock-llm-process.ts';

describe('the mock LLM in its own process', () => {
  it('answers the OpenAI protocol after its latency, with usage, then stops', async () => {
    const mock = await startMockLlmProcess({ latencyMs: 120 });
    try {
      const started = performance.now();
      const res = await fetch(`${mock.openaiBaseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const elapsed = performance.now() - started;
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        choices: { message: { content: string } }[];
        usage: { prompt_tokens: number };
      };
      expect(body.choices[0]?.message.content).toContain('hi');
      expect(body.usage.prompt_tokens).toBeGreaterThan(0);
      expect(elapsed).toBeGreaterThanOrEqual(115);
      // Its CPU is readable by pid: the pid is the server itself, not a launcher.
      expect(await cpuMs({ pid: mock.pid })).toBeGreaterThan(0);
    } finally {
      await mock.stop();
    }
    await expect(fetch(`${mock.openaiBaseUrl}/models`)).rejects.toThrow();
  });
});

describe('benchmark statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(distribution(samples)).toEqual({ p50: 50, p95: 95, p99: 99, count: 100 });
  });

  it('prints a Markdown table with n/a for unknown cells', () => {
    expect(markdownTable(['a', 'b'], [[1, null]])).toBe('| a | b |\n| --- | ---: |\n| 1 | n/a |');
  });
});
