/**
 * SQL built from templates, run in one round trip.
 *
 * Without prepared statements (the default: Supavisor's transaction pooler),
 * postgres.js sends a statement with parameters in two round trips: it asks
 * Postgres for the parameters' types first, then binds and executes. A
 * statement with no parameters goes in one. So on that path the values are
 * written into the statement text as literals, each dollar-quoted with a tag
 * the value does not contain (no escape processing, whatever
 * standard_conforming_strings says), and casts come from the template, as
 * with parameters. With prepared statements (DB_PREPARE=true) the same
 * template runs with $n parameters, and Postgres keeps its plan.
 *
 *   const statement = q`select * from t where id = ${id}::uuid`;
 *   await run(sql, statement, { prepare: false });
 */
import type { Sql } from 'postgres';

type Value = string | number | bigint | boolean | null | undefined | Date | readonly string[];

/** A composed piece of SQL: text and values, in order. */
export class Statement {
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly (Value | Statement | Json | Identifier)[],
  ) {}
}

class Json {
  constructor(readonly value: unknown) {}
}

class Identifier {
  constructor(readonly name: string) {}
}

/** The SQL template: values become literals or parameters; a nested statement is spliced in. */
export function q(
  strings: TemplateStringsArray,
  ...values: (Value | Statement | Json | Identifier)[]
) {
  return new Statement(strings, values);
}

/** A JSON value (write the `::jsonb` cast in the template). */
q.json = (value: unknown) => new Json(value);

/** A quoted identifier: a schema, table or column name. */
q.id = (name: string) => new Identifier(name);

/** Nothing: for an optional piece. */
q.empty = new Statement([''], []);

const NUL = '\u0000';

/** A dollar-quoted literal whose tag does not occur in the text. */
export function quoteLiteral(text: string): string {
  if (text.includes(NUL)) throw new Error('a SQL literal cannot hold NUL');
  // The text must not close the quote early: the tag's first match after the
  // opening is the closing one (a text ending in `$l` would make `$l$l$`).
  let tag = '$l$';
  for (let n = 0; (text + tag).indexOf(tag) !== text.length; n += 1) tag = `$l${n}$`;
  return `${tag}${text}${tag}`;
}

function quoteIdentifier(name: string): string {
  if (name.includes(NUL)) throw new Error('an identifier cannot hold NUL');
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(value: Value | Json): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Json) return quoteLiteral(JSON.stringify(value.value));
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error('an invalid Date in SQL');
    return quoteLiteral(value.toISOString());
  }
  // Parenthesised, so no neighbour can run into the sign: `1-${-5}` is `1-(-5)`, never `1--5`,
  // which SQL reads as 1 and a comment.
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number for SQL: ${value}`);
    return `(${String(value)})`;
  }
  if (typeof value === 'bigint') return `(${value.toString()})`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) {
    return value.length === 0 ? quoteLiteral('{}') : `array[${value.map(quoteLiteral).join(', ')}]`;
  }
  return quoteLiteral(value as string);
}

/** The statement's text and parameters: values inline (`params` empty) or as $n. */
export function render(statement: Statement, inline: boolean): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const walk = (piece: Statement): string => {
    let text = piece.strings[0] ?? '';
    piece.values.forEach((value, i) => {
      if (value instanceof Statement) text += walk(value);
      else if (value instanceof Identifier) text += quoteIdentifier(value.name);
      else if (inline) text += literal(value);
      else {
        // postgres.js serializes a jsonb parameter itself.
        params.push(value instanceof Json ? value.value : (value ?? null));
        text += `$${params.length}`;
      }
      text += piece.strings[i + 1] ?? '';
    });
    return text;
  };
  return { text: walk(statement), params };
}

/**
 * Runs the statement: one round trip without prepared statements (values
 * inline), or as a prepared statement with parameters. Lazy and cancellable,
 * like any postgres.js query.
 */
export function run<T extends object[] = Record<string, unknown>[]>(
  sql: Sql,
  statement: Statement,
  options: { prepare: boolean },
) {
  const { text, params } = render(statement, !options.prepare);
  return options.prepare
    ? sql.unsafe<T>(text, params as never[], { prepare: true })
    : sql.unsafe<T>(text);
}
