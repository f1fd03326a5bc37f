/**
 * Server-Timing (W3C): where a request's time went, phase by phase, so a
 * client or a benchmark can see the function's own overhead next to the LLM.
 */
export interface ServerTiming {
  /** Ends the current phase under `name` and starts the next. */
  mark(name: string): void;
  /** The phases, then `total`: all of the handler's time, phases or not. */
  header(): string;
}

export function startServerTiming(): ServerTiming {
  const phases: string[] = [];
  const started = performance.now();
  let last = started;
  return {
    mark(name) {
      const now = performance.now();
      phases.push(`${name};dur=${(now - last).toFixed(2)}`);
      last = now;
    },
    header: () => [...phases, `total;dur=${(performance.now() - started).toFixed(2)}`].join(', '),
  };
}
