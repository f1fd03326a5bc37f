/** Structured logs: one JSON object a line, errors and warnings on stderr. */
export type Logger = (entry: Record<string, unknown>) => void;

export const consoleLogger: Logger = (entry) => {
  const line = JSON.stringify({ time: new Date().toISOString(), ...entry });
  if (entry.level === 'error' || entry.level === 'warn') console.error(line);
  else console.log(line);
};
