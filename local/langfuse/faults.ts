/**
 * Faults a test can inject into the local Langfuse server: a status for whole
 * requests (500, 429 with Retry-After), any raw answer (an HTML 200 from a
 * proxy, a malformed 207), errors for chosen events (a partial 207), slow
 * answers, no answer at all, a body that never ends, dropped connections,
 * and a hook between storing a request and answering it. They apply the same
 * way in v3 and v4 mode.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InjectedEventError } from './endpoints.ts';
import type { RouteKind } from './read-routes.ts';

export interface LangfuseFaults {
  /** Answer whole requests with this status (500, 429, 503...) while `times` lasts. */
  status: {
    code: number;
    times?: number;
    retryAfterSeconds?: number;
    /** Which endpoints; all of them when absent. */
    paths?: RouteKind[];
  } | null;
  /** Answer whole requests with exactly this, storing nothing, while `times` lasts. */
  answer: {
    status: number;
    contentType: string;
    body: string | Uint8Array;
    times?: number;
    paths?: RouteKind[];
  } | null;
  /** Per-event errors inside a 207, by event body id (e.g. the score id): status and message. */
  eventErrors: Map<string, InjectedEventError>;
  /** Wait this long before reading a request (nothing is stored until then). */
  delayMs: number;
  /** Never answer, store nothing: the connection stays open until reset() or stop(). */
  silent: boolean;
  /** Answer 200 with headers and a body that trickles forever; nothing is stored. */
  endlessBody: boolean;
  /** Destroy the connection instead of answering, while `times` lasts. */
  drop: { times: number } | null;
  /**
   * Runs after a write request was processed and stored, before its answer
   * is sent: Langfuse has the data, the sender does not know yet.
   */
  beforeAnswer: ((kind: RouteKind) => Promise<void>) | null;
}

export const freshFaults = (): LangfuseFaults => ({
  status: null,
  answer: null,
  eventErrors: new Map(),
  delayMs: 0,
  silent: false,
  endlessBody: false,
  drop: null,
  beforeAnswer: null,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface FaultContext {
  faults: LangfuseFaults;
  /** The server's reset() counter: a request delayed across a reset is dropped. */
  generation: () => number;
  record: (status: number) => void;
  /** Keeps a connection until reset() or stop(). */
  hold: (req: IncomingMessage) => void;
}

/** Applies the injected faults; true when one of them took over the request. */
export async function injectFault(
  req: IncomingMessage,
  res: ServerResponse,
  kind: RouteKind,
  { faults, generation, record, hold }: FaultContext,
): Promise<boolean> {
  if (faults.delayMs) {
    const arrivedIn = generation();
    await sleep(faults.delayMs);
    if (generation() !== arrivedIn) {
      req.socket.destroy();
      return true;
    }
  }
  if (faults.drop && faults.drop.times > 0) {
    faults.drop.times -= 1;
    record(0);
    req.socket.destroy();
    return true;
  }
  if (faults.silent) {
    record(0);
    hold(req);
    return true;
  }
  if (faults.endlessBody) {
    record(200);
    hold(req);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    const trickle = setInterval(() => res.write(' '), 200);
    req.socket.once('close', () => clearInterval(trickle));
    return true;
  }
  const raw = faults.answer;
  if (
    raw &&
    (!raw.paths || raw.paths.includes(kind)) &&
    (raw.times === undefined || raw.times > 0)
  ) {
    if (raw.times !== undefined) raw.times -= 1;
    record(raw.status);
    res.writeHead(raw.status, { 'content-type': raw.contentType }).end(raw.body);
    return true;
  }
  const fault = faults.status;
  if (
    fault &&
    (!fault.paths || fault.paths.includes(kind)) &&
    (fault.times === undefined || fault.times > 0)
  ) {
    if (fault.times !== undefined) fault.times -= 1;
    record(fault.code);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (fault.retryAfterSeconds !== undefined) {
      headers['retry-after'] = String(fault.retryAfterSeconds);
    }
    res.writeHead(fault.code, headers).end(JSON.stringify({ message: `injected ${fault.code}` }));
    return true;
  }
  return false;
}
