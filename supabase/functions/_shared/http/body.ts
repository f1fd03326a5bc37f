/**
 * Reads a JSON request body safely: a size cap enforced while streaming (413),
 * a deadline for the whole upload (408: a client trickling bytes cannot hold
 * the function), JSON syntax (400 invalid_json) and a zod schema (400
 * invalid_request with the issues). A client that goes away mid-upload ends
 * the request quietly (499). Nothing a client sends here can become a 500.
 */
import type { z } from 'zod';
import { HttpError } from './errors.ts';

/** About 32 KB: a 4,000-character message in any script fits several times over. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024;
/** The default of BODY_READ_TIMEOUT_MS. */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 10_000;

const TIMED_OUT = Symbol('timed out');

async function readText(req: Request, maxBytes: number, timeoutMs: number): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
  });
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array> | typeof TIMED_OUT;
      try {
        chunk = await Promise.race([reader.read(), deadline]);
      } catch (error) {
        // Reading a request body fails only when the client or the network drops it.
        throw new HttpError(499, 'client_closed_request', `The client went away: ${String(error)}`);
      }
      if (chunk === TIMED_OUT) {
        void reader.cancel().catch(() => {});
        throw new HttpError(408, 'request_timeout', `The request body took over ${timeoutMs} ms.`, {
          headers: { connection: 'close' },
        });
      }
      const { done, value } = chunk;
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', `The request body is over ${maxBytes} bytes.`, {
    details: { maxBytes },
  });
}

export async function readJsonBody<Schema extends z.ZodType>(
  req: Request,
  schema: Schema,
  maxBytes = DEFAULT_MAX_BODY_BYTES,
  readTimeoutMs = DEFAULT_BODY_READ_TIMEOUT_MS,
): Promise<z.infer<Schema>> {
  const contentType = req.headers.get('content-type') ?? '';
  if (contentType && !/^application\/(.+\+)?json\b/i.test(contentType)) {
    throw new HttpError(415, 'unsupported_media_type', 'Send the body as application/json.');
  }
  const text = await readText(req, maxBytes, readTimeoutMs);
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new HttpError(400, 'invalid_request', 'The request body does not match the schema.', {
      details: {
        issues: parsed.error.issues.map((issue) => ({
          path: issue.path.join('.'),
          code: issue.code,
          message: issue.message,
        })),
      },
    });
  }
  return parsed.data;
}
