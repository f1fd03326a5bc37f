/**
 * The fetch the SDKs are given hands Deno a header record instead of the
 * SDKs' Headers object (llm/sdk-fetch.ts): the request that leaves must be
 * the same, header for header, as the one the SDK built.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkFetch } from '../../supabase/functions/_shared/llm/sdk-fetch.ts';

let server: Server;
let baseUrl: string;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'c',
          object: 'chat.completion',
          created: 0,
          model: 'gpt-4o-mini',
          choices: [
            { index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' },
          ],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the SDKs’ fetch', () => {
  it('sends what the SDK built, header for header, with the same body', async () => {
    const call = (fetch?: typeof sdkFetch) =>
      new OpenAI({
        apiKey: 'sk-test',
        baseURL: baseUrl,
        maxRetries: 0,
        fetch,
      }).chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'héllo' }] },
        { headers: { 'x-extra': 'a' } },
      );
    await call();
    await call(sdkFetch);
    const [plain, viaSdkFetch] = received;
    const comparable = (headers: IncomingHttpHeaders | undefined) => {
      // Connection handling and the runtime's own header differ per connection, not per request.
      const { connection, 'keep-alive': _, ...rest } = headers ?? {};
      return rest;
    };
    expect(comparable(viaSdkFetch?.headers)).toEqual(comparable(plain?.headers));
    expect(viaSdkFetch?.headers.authorization).toBe('Bearer sk-test');
    expect(viaSdkFetch?.headers['x-extra']).toBe('a');
    expect(viaSdkFetch?.body).toBe(plain?.body);
  });

  it('passes any other init through unchanged', async () => {
    const res = await sdkFetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-record': 'yes' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(received.at(-1)?.headers['x-record']).toBe('yes');
  });
});
