/**
 * A pass-through between the functions and the mock LLM that notes how each
 * call ended. The mock logs what it was asked, not what it answered, and its
 * behaviour is switched while requests wait out its latency, so only the
 * answer itself says whether a call was paid for. Part of `npm run chaos`.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MeteredLlmCall {
  /** The last user turn of the prompt: the load's `chaos <phase> <n>`. */
  lastUserMessage: string;
  stream: boolean;
  /** The mock's status; null when it never answered (a hang, or the functions left first). */
  status: number | null;
  /** The whole answer reached the functions. */
  delivered: boolean;
}

export interface LlmMeter {
  openaiBaseUrl: string;
  calls: MeteredLlmCall[];
  /** Calls the functions are waiting on right now. */
  inFlight(): number;
  stop(): Promise<void>;
}

/** Headers that describe one hop's connection or encoding, not the answer. */
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
]);

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part === 'object' && part && 'text' in part ? String(part.text) : ''))
    .join('');
}

/** The text of the last user turn of an OpenAI or Anthropic request body. */
export function lastUserMessage(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages)
    ? (body.messages as { role?: unknown; content?: unknown }[])
    : [];
  const last = messages.findLast((message) => message.role === 'user');
  return last ? contentText(last.content) : '';
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startLlmMeter(upstreamUrl: string): Promise<LlmMeter> {
  const calls: MeteredLlmCall[] = [];
  let inFlight = 0;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      // forwarded as it is; the mock answers the malformed body itself
    }
    const call: MeteredLlmCall = {
      lastUserMessage: lastUserMessage(parsed),
      stream: parsed.stream === true,
      status: null,
      delivered: false,
    };
    calls.push(call);
    inFlight += 1;
    // The functions giving up (their timeout, or their caller gone) ends the upstream call too,
    // as closing the socket to a real provider would.
    const upstreamAbort = new AbortController();
    res.on('close', () => {
      inFlight -= 1;
      if (!res.writableFinished) upstreamAbort.abort();
    });
    try {
      const upstream = await fetch(new URL(req.url ?? '/', upstreamUrl), {
        method: req.method ?? 'POST',
        headers: {
          'content-type': req.headers['content-type'] ?? 'application/json',
          authorization: req.headers.authorization ?? '',
        },
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : new Uint8Array(body),
        signal: upstreamAbort.signal,
      });
      call.status = upstream.status;
      const headers: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!HOP_HEADERS.has(name)) headers[name] = value;
      });
      res.writeHead(upstream.status, headers);
      const reader = upstream.body?.getReader();
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done || res.destroyed) break;
        res.write(chunk.value);
      }
      if (!res.destroyed) {
        res.end();
        call.delivered = true;
      }
    } catch {
      res.destroy();
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    openaiBaseUrl: `http://127.0.0.1:${port}/v1`,
    calls,
    inFlight: () => inFlight,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
