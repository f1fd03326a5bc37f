/**
 * A failed step of a script: which step, which file, and the Postgres error.
 * `runMain` prints it and exits non-zero, so every script fails the same way.
 */
import { isAbsolute, relative } from 'node:path';
import { projectRoot } from './project.ts';

export class StepError extends Error {
  readonly step: string;
  readonly file: string | undefined;
  readonly detail: string | undefined;

  constructor(step: string, message: string, options: { file?: string; detail?: string } = {}) {
    super(message);
    this.name = 'StepError';
    this.step = step;
    this.file = options.file;
    this.detail = options.detail;
  }
}

/** Shape of the fields postgres.js copies from a Postgres ErrorResponse. */
interface PostgresErrorFields {
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
}

/** "line 12, column 3" for a 1-based character position in `text`. */
function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, Math.max(0, position - 1));
  const lines = before.split('\n');
  return `line ${lines.length}, column ${(lines.at(-1)?.length ?? 0) + 1}`;
}

/** Wraps an error thrown while running `sqlText` from `file` into a StepError. */
export function sqlStepError(
  step: string,
  file: string,
  sqlText: string,
  error: unknown,
): StepError {
  const message = error instanceof Error ? error.message : String(error);
  const fields = (error ?? {}) as PostgresErrorFields;
  const parts: string[] = [];
  if (fields.code) parts.push(`SQLSTATE ${fields.code}`);
  if (fields.position) parts.push(`at ${lineAndColumn(sqlText, Number(fields.position))}`);
  if (fields.detail) parts.push(`detail: ${fields.detail}`);
  if (fields.hint) parts.push(`hint: ${fields.hint}`);
  if (fields.where) parts.push(`where: ${fields.where}`);
  return new StepError(step, message, { file, detail: parts.join('\n') || undefined });
}

/** Paths inside the project print relative to it; others print as they are. */
function displayPath(file: string): string {
  const inside = relative(projectRoot, file);
  return inside.startsWith('..') || isAbsolute(inside) ? file : inside;
}

export function formatStepError(error: StepError): string {
  const lines = [`✖ ${error.step} failed`];
  if (error.file) lines.push(`  file: ${displayPath(error.file)}`);
  lines.push(`  error: ${error.message}`);
  if (error.detail) lines.push(...error.detail.split('\n').map((line) => `  ${line}`));
  return lines.join('\n');
}

/** Runs a script's main function; any failure is printed and exits with code 1. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      if (error instanceof StepError) {
        console.error(formatStepError(error));
      } else {
        console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      }
      process.exit(1);
    },
  );
}
