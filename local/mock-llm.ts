/**
 * A local LLM that speaks the OpenAI chat-completions and Anthropic messages
 * wire protocols, JSON and streaming, so the real SDKs talk to it unchanged.
 * Replies are deterministic and usage numbers realistic (about four characters
 * a token). Latency and failures are configurable while it runs, for tests,
 * the benchmark and the offline `npm start`.
 *
 * Where the wire formats come from (the SDKs the functions use, as installed:
 * openai 7.57.0, @anthropic-ai/sdk 1.12.0), and the tests that hold them are
 * the real SDKs talking to this server:
 *  - OpenAI chat completion and chunk shapes: resources/chat/completions/
 *    completions.d.ts (ChatCompletion, ChatCompletionChunk: with
 *    `stream_options.include_usage` the last chunk before `data: [DONE]` has
 *    empty `choices` and the whole request's `usage`); the SSE framing and the
 *    `[DONE]` sentinel: core/streaming.js.
 *  - Anthropic message and stream events (message_start with input usage,
 *    content_block_start/delta/stop, message_delta with output usage,
 *    message_stop): resources/messages/messages.d.ts and lib/MessageStream.js;
 *    error bodies `{type: 'error', error: {type, message}}` with the types of
 *    resources/shared.d.ts (rate_limit_error, api_error).
 *  - Retry hints: both SDKs' client.js read `retry-after-ms` first, then
 *    `Retry-After` (seconds or a date), and honour `x-should-retry`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockFailure {
  /** HTTP status to answer with, for example 429, 500 or 503. */
  status: number;
  /** How many requests fail before it recovers; every request when omitted. */
  times?: number;
  /** Sent as Retry-After (seconds). */
  retryAfterSeconds?: number;
  /** Sent as retry-after-ms, which both SDKs read before Retry-After (client.js). */
  retryAfterMs?: number;
}

export interface MockBehavior {
  /** Delay before the first byte of the answer. */
  latencyMs: number;
  /** Delay between streamed chunks. */
  chunkDelayMs: number;
  failure: MockFailure | null;
  /** Never answer: the client's timeout fires. */
  hang: boolean;
  /** Close the connection after this many streamed chunks, mid-stream. */
  dropStreamAfterChunks: number | null;
  /** Leave usage out of answers, as some compatible servers do. */
  omitUsage: boolean;
  /** Answer this text instead of the echo, as a model may (NUL characters included). */
  replyText: string | null;
}

export interface MockRequestLog {
  protocol: 'openai' | 'anthropic';
  stream: boolean;
  model: string;
  body: Record<string, unknown>;
}

export interface MockLlm {
  url: string;
  openaiBaseUrl: string;
  anthropicBaseUrl: string;
  behavior: MockBehavior;
  requests: MockRequestLog[];
  /** Restores the default behavior and forgets the requests. */
  reset(): void;
  stop(): Promise<void>;
}

export const DEFAULT_MOCK_BEHAVIOR: MockBehavior = {
  latencyMs: 0,
  chunkDelayMs: 0,
  failure: null,
  hang: false,
  dropStreamAfterChunks: null,
  omitUsage: false,
  replyText: null,
};

const sleep = (ms: number) =>
  ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** The reply: deterministic, shaped like a coach's answer, echoing the user's words. */
export function mockReply(lastUserMessage: string): string {
  const topic = lastUserMessage.replace(/\s+/g, ' ').trim().slice(0, 60);
  return `Thanks for sharing "${topic}". Let's keep it small: pick one step you can do in ten minutes today, and tell me how it went.`;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (typeof part === 'object' && part && 'text' in part ? String(part.text) : ''))
      .join('');
  }
  return '';
}

interface Conversation {
  promptText: string;
  lastUser: string;
}

function readConversation(body: Record<string, unknown>): Conversation {
  const messages = Array.isArray(body.messages)
    ? (body.messages as { role: string; content: unknown }[])
    : [];
  const system = contentText(body.system);
  const texts = messages.map((message) => contentText(message.content));
  const lastUser = [...messages].reverse().find((message) => message.role === 'user');
  return {
    promptText: system + texts.join(''),
    lastUser: lastUser ? contentText(lastUser.content) : '',
  };
}

/** Splits the reply into word-sized chunks, as real streams arrive. */
function chunksOf(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [text];
}

function sendError(
  res: ServerResponse,
  protocol: 'openai' | 'anthropic',
  failure: MockFailure,
): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (failure.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(failure.retryAfterSeconds);
  if (failure.retryAfterMs !== undefined) headers['retry-after-ms'] = String(failure.retryAfterMs);
  const message = `mock failure ${failure.status}`;
  const body =
    protocol === 'openai'
      ? { error: { message, type: 'server_error', code: String(failure.status) } }
      : {
          type: 'error',
          error: { type: failure.status === 429 ? 'rate_limit_error' : 'api_error', message },
        };
  res.writeHead(failure.status, headers).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}

export async function startMockLlm(
  options: { port?: number; behavior?: Partial<MockBehavior> } = {},
): Promise<MockLlm> {
  const mock: Omit<MockLlm, 'url' | 'openaiBaseUrl' | 'anthropicBaseUrl' | 'stop'> = {
    behavior: { ...DEFAULT_MOCK_BEHAVIOR, ...options.behavior },
    requests: [],
    reset() {
      mock.behavior = { ...DEFAULT_MOCK_BEHAVIOR, ...options.behavior };
      mock.requests.length = 0;
    },
  };

  async function streamChunks(res: ServerResponse, frames: string[]): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    for (const [index, frame] of frames.entries()) {
      if (
        mock.behavior.dropStreamAfterChunks !== null &&
        index >= mock.behavior.dropStreamAfterChunks
      ) {
        res.socket?.destroy();
        return;
      }
      if (res.destroyed) return;
      // Resolves once the frame is handed to the socket, so a drop never swallows it.
      await new Promise<void>((resolve) => res.write(frame, () => resolve()));
      await sleep(mock.behavior.chunkDelayMs);
    }
    res.end();
  }

  async function openai(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const { promptText, lastUser } = readConversation(body);
    const reply = mock.behavior.replyText ?? mockReply(lastUser);
    const model = String(body.model ?? 'mock');
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = {
      prompt_tokens: tokens(promptText),
      completion_tokens: tokens(reply),
      total_tokens: tokens(promptText) + tokens(reply),
    };
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: reply, refusal: null },
              finish_reason: 'stop',
              logprobs: null,
            },
          ],
          ...(mock.behavior.omitUsage ? {} : { usage }),
        }),
      );
      return;
    }
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
    const frames = [
      chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
      ...chunksOf(reply).map((text) =>
        chunk([{ index: 0, delta: { content: text }, finish_reason: null }]),
      ),
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
    ];
    const wantsUsage = (body.stream_options as { include_usage?: boolean } | undefined)
      ?.include_usage;
    if (wantsUsage && !mock.behavior.omitUsage) frames.push(chunk([], { usage }));
    frames.push('data: [DONE]\n\n');
    await streamChunks(res, frames);
  }

  async function anthropic(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const { promptText, lastUser } = readConversation(body);
    const reply = mock.behavior.replyText ?? mockReply(lastUser);
    const model = String(body.model ?? 'mock');
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    const usage = { input_tokens: tokens(promptText), output_tokens: tokens(reply) };
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text: reply }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage,
        }),
      );
      return;
    }
    const event = (type: string, data: Record<string, unknown>) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const frames = [
      event('message_start', {
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
        },
      }),
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ...chunksOf(reply).map((text) =>
        event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
      ),
      event('content_block_stop', { index: 0 }),
      event('message_delta', {
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: usage.output_tokens },
      }),
      event('message_stop', {}),
    ];
    await streamChunks(res, frames);
  }

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://mock').pathname;
    const protocol = path.endsWith('/chat/completions')
      ? 'openai'
      : path.endsWith('/messages')
        ? 'anthropic'
        : null;
    if (req.method !== 'POST' || !protocol) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'not found' } }));
      return;
    }
    try {
      const body = await readJson(req);
      mock.requests.push({
        protocol,
        stream: body.stream === true,
        model: String(body.model ?? ''),
        body,
      });
      if (mock.behavior.hang) return; // the client's timeout (or abort) ends it
      await sleep(mock.behavior.latencyMs);
      const failure = mock.behavior.failure;
      if (failure && (failure.times === undefined || failure.times > 0)) {
        if (failure.times !== undefined) failure.times -= 1;
        sendError(res, protocol, failure);
        return;
      }
      await (protocol === 'openai' ? openai(body, res) : anthropic(body, res));
    } catch (error) {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(error) } }));
    }
  });
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return Object.assign(mock, {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
