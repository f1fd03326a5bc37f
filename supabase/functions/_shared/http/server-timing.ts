/**
 * Server-Timing (W3C): where a request's time went, phase by phase, so a
 * client or a benchmark can see the function's own overhead next to the LLM.
 */
export interface ServerTiming {
  /** Ends the current phase under `name` and starts the next. */
  mark(name: string): void;
  header(): string;
}

export function startServerTiming(): ServerTiming {
  const phases: string[] = [];
  let last = performance.now();
  return {
    mark(name) {
      const now = performance.now();
      phases.push(`${name};dur=${(now - last).toFixed(2)}`);
      last = now;
    },
    header: () => phases.join(', '),
  };
}
