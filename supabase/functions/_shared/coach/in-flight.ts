/**
 * The records the background writer (trace-writer.ts) has not stored yet,
 * across every writer of this instance, so that the end of the instance
 * cannot lose one silently.
 *
 * Supabase's edge runtime tells a worker it is about to end with a
 * `beforeunload` event on globalThis: a CustomEvent whose detail.reason is
 * 'cpu', 'memory', 'wall_clock', 'early_drop' or 'termination'
 * (supabase/edge-runtime ext/runtime/js/bootstrap.js and types/global.d.ts;
 * docs guides/functions/background-tasks.mdx), for the wall clock at 90% of
 * it by default (cli/src/flags.rs, --dispatch-beforeunload-wall-clock-ratio).
 * Its `unload` is not dispatched at all (crates/base/src/runtime/mod.rs).
 * On `beforeunload` every record still in flight is logged whole, in the
 * line the writer writes when its retries run out.
 *
 * A worker's wall clock counts from its start, and a worker serves many
 * requests (guides/functions/limits.mdx), so a retry begun late in its life
 * must end before STORE_RETRY_BUDGET_MS would: retryDeadline() caps it.
 */
import type { Logger } from '../log.ts';

/** Hosted Supabase's wall clock a worker: 150 s on the Free plan, 400 s on paid ones; the smaller. */
export const EDGE_WALL_CLOCK_MS = 150_000;
/** When the edge runtime announces the wall clock's end: 90% of it (its default ratio). */
const BEFOREUNLOAD_RATIO = 0.9;

/** About when this worker started: its modules load at boot. */
const loadedAt = performance.now();

export interface Unstored {
  traceId: string;
  record: Record<string, unknown>;
  log: Logger;
  /** The shutdown line holds it: the writer must not log it again. */
  loggedAtShutdown: boolean;
}

const unstored = new Set<Unstored>();
const watched = new WeakSet<EventTarget>();
/** When this worker's life ends (performance.now() time), on a platform that ends it; else null. */
let lifetimeEndsAt: number | null = null;

/** Registers a record being written in the background; `done` once it is stored or logged. */
export function trackUnstored(traceId: string, record: Record<string, unknown>, log: Logger) {
  const entry: Unstored = { traceId, record, log, loggedAtShutdown: false };
  unstored.add(entry);
  return { entry, done: () => unstored.delete(entry) };
}

/** Logs every record still unstored (once each); returns how many. */
export function logUnstored(reason: string): number {
  let logged = 0;
  for (const entry of unstored) {
    if (entry.loggedAtShutdown) continue;
    entry.loggedAtShutdown = true;
    logged += 1;
    entry.log({
      level: 'error',
      msg: 'call not recorded',
      traceId: entry.traceId,
      error: `the instance is ending (${reason}) before the record was stored`,
      shutdown: reason,
      record: entry.record,
    });
  }
  return logged;
}

/** How many records are being written in the background now. */
export const unstoredCount = () => unstored.size;

/**
 * When a background write must give up: at the end of its budget, or early
 * enough that its last attempt (`attemptMs` at most) ends before the
 * instance does (performance.now() times).
 */
export function retryDeadline(budgetEndsAt: number, attemptMs: number): number {
  return lifetimeEndsAt === null
    ? budgetEndsAt
    : Math.min(budgetEndsAt, lifetimeEndsAt - attemptMs);
}

/**
 * Logs the unstored records when `target` (globalThis) announces its end.
 * On Supabase's edge runtime (globalThis.EdgeRuntime) the instance's life is
 * also bounded by the wall clock; `wallClockMs` says so elsewhere (tests).
 * Once per target; later calls change nothing.
 */
export function watchShutdown(
  target: EventTarget,
  options: { wallClockMs?: number; startedAt?: number } = {},
): void {
  if (watched.has(target)) return;
  watched.add(target);
  target.addEventListener('beforeunload', (event) => {
    const reason = (event as CustomEvent<{ reason?: unknown } | null>).detail?.reason;
    logUnstored(typeof reason === 'string' ? reason : event.type);
  });
  const onEdge = typeof (target as { EdgeRuntime?: unknown }).EdgeRuntime === 'object';
  const wallClockMs = options.wallClockMs ?? (onEdge ? EDGE_WALL_CLOCK_MS : null);
  if (wallClockMs !== null) {
    lifetimeEndsAt = (options.startedAt ?? loadedAt) + wallClockMs * BEFOREUNLOAD_RATIO;
  }
}
