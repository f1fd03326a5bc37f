/**
 * The load of `npm run chaos`: ai-coach requests sent at a steady rate
 * whatever the answers do (open loop), so a stalled dependency shows as
 * requests piling up rather than as a slower client. Each request is one
 * user's chat turn, and its outcome is what that user saw.
 */

/** The columns a request's outcome is counted in. */
export const OUTCOMES = [
  '200',
  '429',
  '502',
  '503',
  '504',
  '500',
  'other',
  'client timeout',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type LoadStage = 'steady' | 'fault' | 'recovery';

export interface ChaosRequest {
  message: string;
  stage: LoadStage;
  stream: boolean;
  /** When it was sent, ms after its phase began. */
  sentAtMs: number;
  latencyMs: number;
  /** The HTTP status; null when no answer came (client timeout, connection refused). */
  httpStatus: number | null;
  /** The status the user effectively got: a stream's `error` event counts as its code's status. */
  outcome: Outcome;
  errorCode: string | null;
  /** The answer's `stored` flag, when it has one. */
  stored: boolean | null;
  traceId: string | null;
}

export interface LoadTarget {
  functionsUrl: string;
  tokens: string[];
  clientTimeoutMs: number;
  /** Share of requests sent with `stream: true`, 0 to 1. */
  streamShare: number;
  /** Aborted on Ctrl-C: requests in flight end at once. */
  interrupted: AbortSignal;
}

/** The HTTP status each error code answers with, for errors that arrive inside a stream. */
const STATUS_OF_CODE: Record<string, number> = {
  rate_limited: 429,
  upstream_error: 502,
  service_unavailable: 503,
  upstream_timeout: 504,
  internal_error: 500,
};

function outcomeOf(status: number): Outcome {
  const column = String(status) as Outcome;
  return OUTCOMES.includes(column) && column !== 'client timeout' ? column : 'other';
}

/** The message of request `n` of a phase; zero-padded so no message is a prefix of another. */
export function chaosMessage(phaseSlug: string, n: number): string {
  return `chaos ${phaseSlug} ${String(n).padStart(5, '0')}`;
}

/** The text every message of a phase starts with. */
export const phaseTag = (phaseSlug: string): string => `chaos ${phaseSlug} `;

interface AnswerFields {
  errorCode: string | null;
  stored: boolean | null;
  traceId: string | null;
  effectiveStatus: number;
}

function fieldsOf(body: unknown, status: number): AnswerFields {
  const answer = (body ?? {}) as {
    error?: { code?: unknown };
    stored?: unknown;
    traceId?: unknown;
  };
  const errorCode = typeof answer.error?.code === 'string' ? answer.error.code : null;
  return {
    errorCode,
    stored: typeof answer.stored === 'boolean' ? answer.stored : null,
    traceId: typeof answer.traceId === 'string' ? answer.traceId : null,
    effectiveStatus: errorCode && status === 200 ? (STATUS_OF_CODE[errorCode] ?? 0) : status,
  };
}

/** The last `done` or `error` event of a Server-Sent Events answer. */
function finalEvent(text: string): { event: string; data: unknown } | null {
  let last: { event: string; data: unknown } | null = null;
  for (const block of text.split('\n\n')) {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (!event || data === undefined || (event !== 'done' && event !== 'error')) continue;
    try {
      last = { event, data: JSON.parse(data) };
    } catch {
      last = { event, data: null };
    }
  }
  return last;
}

export async function sendChatTurn(
  target: LoadTarget,
  request: { message: string; user: number; stream: boolean; stage: LoadStage; sentAtMs: number },
): Promise<ChaosRequest> {
  const started = performance.now();
  const base = { message: request.message, stage: request.stage, stream: request.stream };
  const token = target.tokens[request.user % target.tokens.length];
  try {
    const res = await fetch(`${target.functionsUrl}/functions/v1/ai-coach`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        message: request.message,
        ...(request.stream ? { stream: true } : {}),
      }),
      signal: AbortSignal.any([AbortSignal.timeout(target.clientTimeoutMs), target.interrupted]),
    });
    // The body is read under the same timeout: a stream that stalls is a timeout too.
    const text = await res.text();
    let fields: AnswerFields;
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const final = finalEvent(text);
      fields =
        final === null
          ? { errorCode: 'stream_ended_early', stored: null, traceId: null, effectiveStatus: 0 }
          : fieldsOf(final.data, res.status);
    } else {
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: counted by its status alone
      }
      fields = fieldsOf(body, res.status);
    }
    return {
      ...base,
      sentAtMs: request.sentAtMs,
      latencyMs: performance.now() - started,
      httpStatus: res.status,
      outcome: outcomeOf(fields.effectiveStatus),
      errorCode: fields.errorCode,
      stored: fields.stored,
      traceId: fields.traceId,
    };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return {
      ...base,
      sentAtMs: request.sentAtMs,
      latencyMs: performance.now() - started,
      httpStatus: null,
      outcome: timedOut ? 'client timeout' : 'other',
      errorCode: timedOut ? 'client_timeout' : `network: ${(error as Error).message}`,
      stored: null,
      traceId: null,
    };
  }
}

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends `rate` requests a second for `seconds`, each at its own due time
 * (not after the previous answer). Returns once the last one is sent (or on
 * Ctrl-C), with every request's pending result; `stage()` is read as each one
 * leaves.
 */
export async function openLoop(
  target: LoadTarget,
  options: {
    phaseSlug: string;
    rate: number;
    seconds: number;
    phaseStartedAt: number;
    firstIndex: number;
    stage: () => LoadStage;
  },
): Promise<Promise<ChaosRequest>[]> {
  const pending: Promise<ChaosRequest>[] = [];
  const count = Math.round(options.rate * options.seconds);
  const startedAt = performance.now();
  for (let i = 0; i < count; i += 1) {
    const due = startedAt + (i * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait, target.interrupted).catch(() => {});
    // Interrupted: stop sending; the caller sees the interruption where it waits.
    if (target.interrupted.aborted) break;
    const n = options.firstIndex + i;
    // Spread streamed requests evenly: request n streams when the running share crosses a whole.
    const stream = Math.floor((n + 1) * target.streamShare) > Math.floor(n * target.streamShare);
    pending.push(
      sendChatTurn(target, {
        message: chaosMessage(options.phaseSlug, n),
        user: n,
        stream,
        stage: options.stage(),
        sentAtMs: performance.now() - options.phaseStartedAt,
      }),
    );
  }
  return pending;
}
