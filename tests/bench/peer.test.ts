/**
 * Portkey's AI gateway (npm @portkey-ai/gateway), the benchmark's peer, in a
 * process of its own. Run by `npm run bench:test`, not by `npm test`: the
 * product's tests do not need Portkey.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cpuMs } from '../../bench/lib/cpu.ts';
import { portkeyHeaders, startPortkeyGateway } from '../../bench/lib/portkey-gateway.ts';
import { freePort } from '../../local/free-port.ts';
import { startMockLlmProcess } from '../../local/tooling/mock-llm-process.ts';

/** Local addresses (hex, as /proc/net/tcp has them) listening on a TCP port. */
async function listeningAddresses(port: number): Promise<string[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const tables = await Promise.all(
    ['/proc/net/tcp', '/proc/net/tcp6'].map((file) => readFile(file, 'utf8').catch(() => '')),
  );
  return tables
    .flatMap((table) => table.split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A')
    .map((fields) => (fields[1] as string).split(':')[0] as string);
}

describe("Portkey's gateway as the peer", () => {
  it('listens on loopback only, routes to the mock by its headers, then stops', async () => {
    const mock = await startMockLlmProcess({ latencyMs: 0 });
    const port = await freePort();
    const gateway = await startPortkeyGateway({ port });
    try {
      // 127.0.0.1 only: 0100007F in /proc/net/tcp, no 00000000 (every interface) nor tcp6.
      expect(await listeningAddresses(port)).toEqual(['0100007F']);
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: portkeyHeaders(mock.openaiBaseUrl, 'bench'),
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-portkey-provider')).toBe('openai');
      const body = (await res.json()) as { choices: { message: { content: string } }[] };
      expect(body.choices[0]?.message.content).toContain('hi');
      expect(await cpuMs({ pid: gateway.pid })).toBeGreaterThan(0);
    } finally {
      await gateway.stop();
      await mock.stop();
    }
    expect(await listeningAddresses(port)).toEqual([]);
  }, 30_000);
});
