/** The scripts' Postgres connection: one connection, no prepared statements, notices muted. */
import postgres, { type Sql } from 'postgres';

export function connect(url: string): Sql {
  return postgres(url, { max: 1, prepare: false, onnotice: () => {}, connect_timeout: 10 });
}

/** A name quoted for SQL text, for the statements that take no bind parameters (CREATE DATABASE). */
export function escapeIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
