/**
 * `npm run sql -- "<query>"`: one SQL statement against the stack's database
 * (DATABASE_URL, or the local one `npm start` runs), its rows printed as a
 * table. For looking around without installing psql.
 */
import { connect } from '../local/tooling/connect.ts';
import { targetDatabaseUrl } from '../local/tooling/database-url.ts';
import { runMain, StepError } from '../local/tooling/step.ts';

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

runMain(async () => {
  const query = process.argv.slice(2).join(' ').trim();
  if (!query) throw new StepError('read the query', 'usage: npm run sql -- "select ..."');
  const sql = connect(targetDatabaseUrl());
  try {
    const rows = await sql.unsafe(query);
    if (rows.length === 0) {
      console.log(rows.command ? `${rows.command} ${rows.count ?? 0}` : '(no rows)');
      return;
    }
    const columns = rows.columns.map((column) => column.name);
    const cells = rows.map((row) => columns.map((name) => cell(row[name])));
    const widths = columns.map((name, i) =>
      Math.max(name.length, ...cells.map((line) => (line[i] ?? '').length)),
    );
    const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ');
    console.log(line(columns));
    console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
    for (const values of cells) console.log(line(values));
    console.log(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  } catch (error) {
    throw new StepError('run the query', (error as Error).message);
  } finally {
    await sql.end();
  }
});
