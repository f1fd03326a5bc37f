/** Runs SQL files, reporting a failure by step, file, line and Postgres error. */
import { readFile } from 'node:fs/promises';
import type { Sql, TransactionSql } from 'postgres';
import { sqlStepError } from './step.ts';

/** Runs the file inside the caller's transaction. */
export async function executeSqlFile(
  tx: TransactionSql,
  step: string,
  file: string,
): Promise<void> {
  const text = await readFile(file, 'utf8');
  try {
    // No parameters, so postgres.js uses the simple protocol: the file may hold many statements.
    await tx.unsafe(text);
  } catch (error) {
    throw sqlStepError(step, file, text, error);
  }
}

/** Runs the file in a transaction of its own: all or nothing. */
export async function runSqlFile(sql: Sql, step: string, file: string): Promise<void> {
  await sql.begin((tx) => executeSqlFile(tx, step, file));
}
