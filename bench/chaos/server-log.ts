/**
 * The functions server's log as `npm run chaos` reads it: one JSON object a
 * line (supabase/functions/_shared/log.ts; startFunctionsServer hands it over
 * line by line), kept with the time it arrived.
 */

export interface ServerLogLine {
  /** performance.now() when the line arrived. */
  at: number;
  text: string;
  /** The parsed object; null for lines that are not JSON (Deno's own warnings, stack traces). */
  entry: Record<string, unknown> | null;
}

export interface ServerLog {
  lines: ServerLogLine[];
  /** For startFunctionsServer's onLog. */
  onLog(line: string): void;
}

export function createServerLog(): ServerLog {
  const lines: ServerLogLine[] = [];
  const parse = (text: string): Record<string, unknown> | null => {
    try {
      const parsed = JSON.parse(text) as unknown;
      return typeof parsed === 'object' && parsed ? (parsed as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  return {
    lines,
    onLog: (line) => {
      if (line.trim()) lines.push({ at: performance.now(), text: line, entry: parse(line) });
    },
  };
}

/** Every string in a value, with JSON held inside strings opened up too. */
export function* stringsIn(value: unknown, depth = 0): Generator<string> {
  if (depth > 8) return;
  if (typeof value === 'string') {
    yield value;
    const trimmed = value.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        yield* stringsIn(JSON.parse(trimmed), depth + 1);
      } catch {
        // text that only looks like JSON
      }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) yield* stringsIn(item, depth + 1);
  } else if (typeof value === 'object' && value) {
    for (const item of Object.values(value)) yield* stringsIn(item, depth + 1);
  }
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Whether an error line is a complete record of a paid call: it names a trace
 * id (the one the user got, when they got one) and carries the reply itself,
 * so the operator can still account for the call from the log alone.
 */
export function isCompleteRecord(
  line: ServerLogLine,
  reply: string,
  knownTraceId: string | null,
): boolean {
  if (line.entry?.level !== 'error') return false;
  const strings = [...stringsIn(line.entry)];
  if (!strings.some((text) => text.includes(reply))) return false;
  if (knownTraceId) return strings.some((text) => text.includes(knownTraceId));
  return strings.some((text) => (text.match(UUID) ?? []).length > 0);
}

/** Error and warning lines of a time window, counted by their `msg`. */
export function problemsBetween(
  lines: ServerLogLine[],
  from: number,
  to: number,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) {
    if (line.at < from || line.at >= to) continue;
    const level = line.entry ? String(line.entry.level ?? 'info') : 'unparsed';
    if (level !== 'error' && level !== 'warn' && level !== 'unparsed') continue;
    const key = `${level}: ${line.entry ? String(line.entry.msg ?? '(no msg)') : line.text.slice(0, 80)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
