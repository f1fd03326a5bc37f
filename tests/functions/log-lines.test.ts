/**
 * Log lines within hosted Supabase's 10,000-character cut: an entry that
 * does not fit becomes parts, each a line within the cut (in characters and
 * in UTF-8 bytes alike) naming the entry's trace id, its logId and its
 * place, and the parts join back into exactly the entry, in any order.
 */
import { describe, expect, it } from 'vitest';
import {
  joinLogParts,
  logLines,
  MAX_LOG_LINE_CHARS,
  parseLogLine,
} from '../../supabase/functions/_shared/log-lines.ts';

const traceId = '0b7e2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b';

/** A record as awkward as a user's text gets: quotes, backslashes, newlines, Cyrillic, emoji. */
function bigEntry(chars: number): Record<string, unknown> {
  const text = 'Привет "coach" \\ line\nnext 🏃‍♀️ tab\t end. '.repeat(Math.ceil(chars / 40));
  return {
    time: '2026-12-04T10:00:00.000Z',
    level: 'error',
    msg: 'call not recorded',
    traceId,
    error: 'connect ECONNREFUSED 127.0.0.1:5432',
    record: {
      endpoint: 'reflection',
      store: { entityId: traceId, body: { body: text.slice(0, chars) }, reply: text },
      trace: { traceId, input: text, output: '\u0000 and \u2028 too', tags: ['a'] },
    },
  };
}

const bytes = (line: string) => new TextEncoder().encode(line).length;

describe('logLines', () => {
  it('writes an entry that fits as one line, exactly its JSON', () => {
    const entry = { level: 'info', msg: 'stored after retries', traceId, attempt: 2 };
    expect(logLines(entry)).toEqual([JSON.stringify(entry)]);
  });

  it('splits an entry past the cut into lines within it that join back exactly', () => {
    const entry = bigEntry(30_000);
    const lines = logLines(entry, 'log-1');
    expect(lines.length).toBeGreaterThan(5);
    // Bytes are never fewer than characters: within the cut however it counts.
    for (const line of lines) expect(bytes(line)).toBeLessThanOrEqual(MAX_LOG_LINE_CHARS);
    const parts = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    parts.forEach((part, i) => {
      expect(part).toMatchObject({
        time: entry.time,
        level: 'error',
        msg: 'call not recorded',
        traceId,
        logId: 'log-1',
        part: i + 1,
        parts: lines.length,
      });
    });
    // Out of order, one part twice, among other lines: the same entry comes back.
    const shuffled = [parts[2], { msg: 'other' }, ...parts.slice(3), parts[0], parts[1], parts[0]];
    const joined = joinLogParts(shuffled as Record<string, unknown>[]);
    // The entry takes the place of the first of its parts to arrive.
    expect(joined).toEqual({ entries: [entry, { msg: 'other' }], incomplete: [] });
  });

  it('counts bytes: a line short in characters but long in UTF-8 is split too', () => {
    const entry = { msg: 'call not recorded', traceId, record: { reply: 'ж'.repeat(6000) } };
    expect(JSON.stringify(entry).length).toBeLessThan(MAX_LOG_LINE_CHARS);
    const lines = logLines(entry);
    expect(lines.length).toBe(2);
    for (const line of lines) expect(bytes(line)).toBeLessThanOrEqual(MAX_LOG_LINE_CHARS);
    expect(joinLogParts(lines.map((line) => JSON.parse(line))).entries).toEqual([entry]);
  });

  it('fits every line whatever the cut, the parts numbering in the tens and hundreds', () => {
    const entry = bigEntry(40_000);
    for (const max of [500, 1000, 4000]) {
      const lines = logLines(entry, 'x', max);
      expect(Math.max(...lines.map(bytes))).toBeLessThanOrEqual(max);
      expect(joinLogParts(lines.map((line) => JSON.parse(line))).entries).toEqual([entry]);
    }
  });
});

describe('joinLogParts', () => {
  it('reports an entry with a part missing, and does not guess it', () => {
    const lines = logLines(bigEntry(25_000), 'log-2').map((line) => JSON.parse(line));
    const joined = joinLogParts(lines.slice(1));
    expect(joined.entries).toEqual([]);
    expect(joined.incomplete).toEqual([
      { logId: 'log-2', traceId, found: lines.length - 1, parts: lines.length },
    ]);
  });
});

describe('parseLogLine', () => {
  it('reads the entry after a prefix, or inside a Logs Explorer row, and skips other lines', () => {
    const entry = { level: 'error', msg: 'call not recorded', traceId };
    expect(parseLogLine(`2026-12-04 10:00:00 ${JSON.stringify(entry)}`)).toEqual(entry);
    const row = { timestamp: 1, event_message: `${JSON.stringify(entry)}\n`, level: 'error' };
    expect(parseLogLine(JSON.stringify(row))).toEqual(entry);
    expect(parseLogLine('Listening on http://127.0.0.1:54321/')).toBeNull();
    expect(parseLogLine('{not json')).toBeNull();
  });
});
