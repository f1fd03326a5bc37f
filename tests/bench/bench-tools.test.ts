/**
 * The pieces the benchmark measures with: the mock LLM in a process of its
 * own, per-process CPU accounting from /proc, and the peer table's ratios and
 * verdicts. Portkey's gateway, the peer, is tested in peer.test.ts
 * (npm run bench:test), so that npm test does not need it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cpuMs, treeCpuMs } from '../../bench/lib/cpu.ts';
import { floorVerdicts, peerRow } from '../../bench/lib/peer-report.ts';
import {
  benchPost,
  distribution,
  interleavedRounds,
  markdownTable,
  WARM_UP_PER_CLIENT,
} from '../../bench/lib/stats.ts';
import { startMockLlmProcess } from '../../local/tooling/mock-llm-process.ts';

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

  it('charges a process tree with its exited children too', async () => {
    const before = await treeCpuMs(process.pid);
    expect(before).not.toBeNull();
    const { spawnSync } = await import('node:child_process');
    // A child that spins for a while, then exits: its time moves into our cutime.
    spawnSync(process.execPath, ['-e', 'const end = Date.now() + 300; while (Date.now() < end);']);
    expect(((await treeCpuMs(process.pid)) as number) - (before as number)).toBeGreaterThanOrEqual(
      200,
    );
  });

  it('judges the peer target at 16 and 64 clients, with no ratio over a zero overhead', () => {
    const at = (p50: number, p99: number) => ({
      latency: { p50, p95: p99, p99, count: 10 },
      cpu: null,
    });
    const row = peerRow(16, at(50, 60), at(52, 70), at(53, 74));
    expect(row.overhead.aiCoach).toEqual({ p50: 3, p95: 14, p99: 14 });
    expect(row.ratio).toEqual({ p50: 1.5, p95: 1.4, p99: 1.4 });
    expect(row.target).toEqual({ p50: 'PASS', p99: 'PASS' });
    const noisy = peerRow(64, at(50, 60), at(50, 70), at(51, 90));
    expect(noisy.ratio.p50).toBeNull();
    expect(noisy.target).toEqual({ p50: 'FAIL', p99: 'FAIL' });
    expect(peerRow(1, at(50, 60), at(52, 70), at(60, 90)).target).toBeNull();
  });

  it('says where the floor itself is over the target in the run, at the judged client counts only', () => {
    const at = (p50: number, p99: number) => ({
      latency: { p50, p95: p99, p99, count: 10 },
      cpu: null,
    });
    // Portkey's overhead: 4 ms at p50, 20 at p99, at 1, 16 and 64 clients.
    const rows = [1, 16, 64].map((clients) => peerRow(clients, at(50, 60), at(54, 80), at(60, 90)));
    const floor = (clients: number, p50: number, p99: number) => ({
      clients,
      path: 'floor',
      overhead: { p50, p95: p99, p99 },
      cpuPerRequest: null,
    });
    const lines = floorVerdicts(rows, [floor(1, 20, 90), floor(16, 7, 25), floor(64, 4, 31)]);
    expect(lines).toEqual([
      "the floor at 16 clients: 1.75x at p50, 1.25x at p99 of Portkey's overhead; over 1.5x at p50: out of reach in this run for any ai-coach that sends those statements",
      "the floor at 64 clients: 1x at p50, 1.55x at p99 of Portkey's overhead; over 1.5x at p99: out of reach in this run for any ai-coach that sends those statements",
    ]);
    expect(floorVerdicts(rows, [floor(16, 6, 30)])).toEqual([
      "the floor at 16 clients: 1.5x at p50, 1.5x at p99 of Portkey's overhead; within the target",
    ]);
    expect(floorVerdicts(rows, [])).toEqual([]);
  });

  it('warms each path at the round’s concurrency before each of its rounds, and keeps no warm-up sample', async () => {
    const clients = 5;
    const perClient = 3;
    const log: { path: string; inFlight: number }[] = [];
    const path = (name: string) => {
      let inFlight = 0;
      return {
        name,
        request: async () => {
          inFlight += 1;
          log.push({ path: name, inFlight });
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight -= 1;
        },
      };
    };
    const measured = await interleavedRounds({ rounds: 2, clients, perClient }, [
      path('a'),
      path('b'),
    ]);
    const warmUp = clients * WARM_UP_PER_CLIENT;
    const round = clients * perClient;
    // a warmed then measured, b warmed then measured; twice.
    const blocks = [];
    for (let start = 0; start < log.length; ) {
      const name = log[start]?.path;
      let end = start;
      while (end < log.length && log[end]?.path === name) end += 1;
      blocks.push({ name, size: end - start });
      start = end;
    }
    expect(blocks).toEqual([
      { name: 'a', size: warmUp + round },
      { name: 'b', size: warmUp + round },
      { name: 'a', size: warmUp + round },
      { name: 'b', size: warmUp + round },
    ]);
    expect(Math.max(...log.slice(0, warmUp).map((entry) => entry.inFlight))).toBe(clients);
    expect(measured.get('a')?.samples).toHaveLength(2 * round);
    expect(measured.get('b')?.samples).toHaveLength(2 * round);
  });

  it('sends a POST again when the server closed the connection before answering, and no other failure', async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests += 1;
      // The first request meets a connection the server drops, as an idle close would.
      if (requests === 1) return req.socket.destroy();
      res.writeHead(req.url === '/fails' ? 500 : 200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await benchPost(`${url}/`, {}, '{}');
      expect(await res.text()).toBe('ok');
      expect(requests).toBe(2);
      await expect(benchPost(`${url}/fails`, {}, '{}')).rejects.toThrow('answered 500');
      expect(requests).toBe(3);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('prints a Markdown table with n/a for unknown cells', () => {
    expect(markdownTable(['a', 'b'], [[1, null]])).toBe('| a | b |\n| --- | ---: |\n| 1 | n/a |');
  });
});
