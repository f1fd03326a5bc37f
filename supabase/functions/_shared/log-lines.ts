/**
 * Log lines that survive hosted Supabase's cut: a log message is kept up to
 * 10,000 characters (supabase.com/docs/guides/functions/limits and
 * /logging: "A custom log message can contain up to 10,000 characters").
 * An entry whose JSON line would be longer (the complete record of a call
 * not stored) is written as parts instead, each a line of its own:
 *
 *   {"time":…,"level":"error","msg":"call not recorded","traceId":…,
 *    "logId":"<one id for all parts>","part":1,"parts":3,"text":"<a slice of the entry's JSON>"}
 *
 * Concatenating the parts' `text` in `part` order gives the entry's JSON
 * back (joinLogParts). Lines are measured in UTF-8 bytes, never fewer than
 * characters, so each is within the cut however it counts.
 */

export const MAX_LOG_LINE_CHARS = 10_000;

/** What a part carries of its entry, so a search by level, msg or trace id finds every part. */
const ENVELOPE_FIELDS = ['time', 'level', 'msg', 'traceId'] as const;
const MAX_ENVELOPE_FIELD_CHARS = 200;

const utf8 = new TextEncoder();
const byteLength = (text: string) => utf8.encode(text).length;

/**
 * The UTF-8 bytes the code unit at `i` of JSON text takes once written inside
 * a JSON string, and how many units it spans (a surrogate pair is one step,
 * never split). JSON text holds no control character or lone surrogate: its
 * own escapes wrote them in ASCII.
 */
function step(text: string, i: number): { bytes: number; units: number } {
  const unit = text.charCodeAt(i);
  if (unit === 0x22 || unit === 0x5c) return { bytes: 2, units: 1 };
  if (unit < 0x80) return { bytes: 1, units: 1 };
  if (unit < 0x800) return { bytes: 2, units: 1 };
  if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) return { bytes: 4, units: 2 };
  return { bytes: 3, units: 1 };
}

function envelopeOf(entry: Record<string, unknown>, logId: string): Record<string, unknown> {
  const envelope: Record<string, unknown> = {};
  for (const field of ENVELOPE_FIELDS) {
    const value = entry[field];
    if (typeof value === 'string') envelope[field] = value.slice(0, MAX_ENVELOPE_FIELD_CHARS);
  }
  envelope.logId = logId;
  return envelope;
}

/** Cuts JSON text into slices of at most `room` bytes each once written as a JSON string. */
function slices(text: string, room: number): string[] {
  const out: string[] = [];
  let start = 0;
  let used = 0;
  for (let i = 0; i < text.length; ) {
    const { bytes, units } = step(text, i);
    if (used + bytes > room) {
      out.push(text.slice(start, i));
      start = i;
      used = 0;
    }
    used += bytes;
    i += units;
  }
  out.push(text.slice(start));
  return out;
}

/**
 * The lines that log `entry`: one line when it fits in `maxChars` (counted
 * in UTF-8 bytes, the stricter reading), otherwise parts as above.
 * `logId` names the parts of this entry (any unique string).
 */
export function logLines(
  entry: Record<string, unknown>,
  logId: string = crypto.randomUUID(),
  maxChars = MAX_LOG_LINE_CHARS,
): string[] {
  const line = JSON.stringify(entry);
  // A UTF-16 unit is at most 3 bytes: most lines need no encoding to know they fit.
  if (line.length * 3 <= maxChars || byteLength(line) <= maxChars) return [line];
  const envelope = envelopeOf(entry, logId);
  // The envelope's length depends on the digits of the part count: widen the
  // count until the slicing needs no more digits than assumed.
  for (let width = 1; ; width += 1) {
    const widest = 10 ** width - 1;
    const empty = { ...envelope, part: widest, parts: widest, text: '' };
    const room = maxChars - byteLength(JSON.stringify(empty));
    if (room < 16) throw new Error('the log envelope leaves no room for the entry');
    const parts = slices(line, room);
    if (parts.length > widest) continue;
    return parts.map((text, i) =>
      JSON.stringify({ ...envelope, part: i + 1, parts: parts.length, text }),
    );
  }
}

export interface JoinedLog {
  /** Every entry: whole ones as they were, split ones put back together. */
  entries: Record<string, unknown>[];
  /** Split entries with parts missing: which, and how many of how many arrived. */
  incomplete: { logId: string; traceId: unknown; found: number; parts: number }[];
}

const isPart = (entry: Record<string, unknown>) =>
  typeof entry.logId === 'string' &&
  Number.isInteger(entry.part) &&
  Number.isInteger(entry.parts) &&
  typeof entry.text === 'string';

/** The inverse of logLines: entries from parsed log lines, in any order, repeats ignored. */
export function joinLogParts(lines: Iterable<Record<string, unknown>>): JoinedLog {
  const order: (Record<string, unknown> | string)[] = [];
  const groups = new Map<string, { parts: number; texts: Map<number, string>; traceId: unknown }>();
  for (const entry of lines) {
    if (!isPart(entry)) {
      order.push(entry);
      continue;
    }
    const logId = entry.logId as string;
    let group = groups.get(logId);
    if (!group) {
      group = { parts: entry.parts as number, texts: new Map(), traceId: entry.traceId };
      groups.set(logId, group);
      order.push(logId);
    }
    group.texts.set(entry.part as number, entry.text as string);
  }
  const entries: Record<string, unknown>[] = [];
  const incomplete: JoinedLog['incomplete'] = [];
  for (const item of order) {
    if (typeof item !== 'string') {
      entries.push(item);
      continue;
    }
    const group = groups.get(item) as NonNullable<ReturnType<typeof groups.get>>;
    const texts = Array.from({ length: group.parts }, (_, i) => group.texts.get(i + 1));
    if (texts.some((text) => text === undefined)) {
      incomplete.push({
        logId: item,
        traceId: group.traceId,
        found: group.texts.size,
        parts: group.parts,
      });
    } else {
      entries.push(JSON.parse(texts.join('')) as Record<string, unknown>);
    }
  }
  return { entries, incomplete };
}

/**
 * The log entry on a line as a log view shows it: the JSON object on the
 * line (after any prefix), or inside a row's `event_message` (Supabase's
 * Logs Explorer). Null for a line without one.
 */
export function parseLogLine(line: string): Record<string, unknown> | null {
  const start = line.indexOf('{');
  if (start < 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(line.slice(start, line.lastIndexOf('}') + 1));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const message = (value as { event_message?: unknown }).event_message;
  return typeof message === 'string' ? parseLogLine(message) : (value as Record<string, unknown>);
}
