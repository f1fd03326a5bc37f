/**
 * The local server's clock: real time, shifted on demand, so a test can move
 * past a rate-limit window or onto another calendar day without waiting. It
 * is read where Langfuse reads `Date.now()` and a test asserts the outcome:
 * the rate limiter's windows (rate-limits.ts) and the date a score made by
 * POST /api/public/scores gets (score-create.ts). Everything else keeps the
 * real time.
 */
export interface ServerClock {
  /** Milliseconds since the epoch, as the server sees them. */
  now(): number;
  /** From now on the server's time runs from `time`. */
  set(time: Date | number | string): void;
  /** Moves the server's time forward by `ms`. */
  advance(ms: number): void;
  /** Back to real time. */
  reset(): void;
}

export function serverClock(): ServerClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    set(time) {
      offset = new Date(time).getTime() - Date.now();
    },
    advance(ms) {
      offset += ms;
    },
    reset() {
      offset = 0;
    },
  };
}
