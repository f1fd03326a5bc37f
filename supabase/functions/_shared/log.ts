/**
 * Structured logs: one JSON object a line, errors and warnings on stderr.
 * An entry longer than hosted Supabase keeps (10,000 characters) is written
 * as several lines that join back into it (log-lines.ts).
 */
import { logLines } from './log-lines.ts';

export type Logger = (entry: Record<string, unknown>) => void;

export const consoleLogger: Logger = (entry) => {
  const write = entry.level === 'error' || entry.level === 'warn' ? console.error : console.log;
  for (const line of logLines({ time: new Date().toISOString(), ...entry })) write(line);
};
