/**
 * Statements built with q``: the same values come back from Postgres whether
 * they are written inline as literals (one round trip, the default) or sent as
 * parameters (prepared statements), for every value an attacker might send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { q, quoteLiteral, render, run } from '../../supabase/functions/_shared/db/statement.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

const HOSTILE = [
  '',
  "it's",
  "'); drop table public.plans; --",
  '$l$',
  '$l',
  'ends with $l',
  '$l0$ $l$ $$',
  '$$; select 1; $$',
  "back\\slash \\' \\x41",
  "E'\\047'",
  '日本語のテキスト 🏃‍♀️',
  '"quoted"',
  'a'.repeat(20_000),
];

async function both<T extends object[]>(statement: ReturnType<typeof q>) {
  const inline = await run<T>(db.sql, statement, { prepare: false });
  const prepared = await run<T>(db.sql, statement, { prepare: true });
  expect([...inline]).toEqual([...prepared]);
  return inline;
}

describe('q`` statements', () => {
  it('bring every text back exactly, inline and as parameters', async () => {
    for (const text of HOSTILE) {
      const [row] = await both<{ v: string }[]>(q`select ${text}::text as v`);
      expect(row?.v).toBe(text);
    }
    const [count] = await db.sql`select count(*)::int as n from public.plans`;
    expect(count?.n).toBeGreaterThan(0);
  });

  it('bring numbers, booleans, null, times, arrays and JSON back', async () => {
    const at = new Date('2026-11-30T12:34:56.789Z');
    const json = { quote: "it's", dollar: '$l$', nested: [1, 2.5, null, { e: '日本' }] };
    const [row] = await both<Record<string, unknown>[]>(q`
      select ${42}::integer as i, ${0.00003465}::numeric as n, ${true}::boolean as b,
        ${null}::text as z, ${at}::timestamptz as at, ${['ai-coach', "o'k", '$l$']}::text[] as tags,
        ${[]}::text[] as none, ${q.json(json)}::jsonb as j, ${9007199254740993n}::bigint as big
    `);
    expect(row).toEqual({
      i: 42,
      n: '0.00003465',
      b: true,
      z: null,
      at,
      tags: ['ai-coach', "o'k", '$l$'],
      none: [],
      j: json,
      big: '9007199254740993',
    });
  });

  it('nest statements and quote identifiers', async () => {
    const inner = q`select ${'x'}::text as v`;
    const [row] = await both<{ v: string; w: string }[]>(
      q`with ${q.id('a "b"')} as (${inner}) select v, ${'y'}::text as w from ${q.id('a "b"')}`,
    );
    expect(row).toEqual({ v: 'x', w: 'y' });
  });

  it('send no parameters inline, so postgres.js needs no describe round trip', () => {
    const statement = q`select ${'a'}::text, ${1}::int, ${q`${true}::boolean`}`;
    expect(render(statement, true).params).toEqual([]);
    expect(render(statement, false)).toEqual({
      text: 'select $1::text, $2::int, $3::boolean',
      params: ['a', 1, true],
    });
  });

  it('refuses what SQL cannot hold', () => {
    expect(() => quoteLiteral('a\u0000b')).toThrow(/NUL/);
    expect(() => render(q`select ${Number.NaN}`, true)).toThrow(/finite/);
    expect(() => render(q`select ${new Date('nope')}`, true)).toThrow(/Date/);
  });

  it('render any number so no neighbour forms a comment: a property over random numbers', async () => {
    // A seeded generator (xorshift), so a failure names the case and repeats.
    let seed = 0x2f6b1d;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const numbers: (number | bigint)[] = [-0, -1, -5, Number.MIN_SAFE_INTEGER, -1e-7, -1.5e21, -2n];
    for (let i = 0; i < 150; i += 1) {
      const magnitude = 10 ** Math.floor(next() * 30 - 10);
      numbers.push((next() < 0.5 ? -1 : 1) * next() * magnitude);
    }
    for (const [i, value] of numbers.entries()) {
      // Every place a number can meet SQL text: after a minus, a minus sign and a dash in a row.
      const statement = q`select 1-${value}::numeric as a, ${value}::numeric-${value}::numeric as b, 2- -${value}::numeric as c`;
      const { text } = render(statement, true);
      expect(text, `case ${i}: ${value}`).not.toMatch(/--|\/\*/);
      const [inline] = await run<{ a: string; b: string; c: string }[]>(db.sql, statement, {
        prepare: false,
      });
      const [prepared] = await run<{ a: string; b: string; c: string }[]>(db.sql, statement, {
        prepare: true,
      });
      expect(inline, `case ${i}: ${value}`).toEqual(prepared);
      expect(Number(inline?.b)).toBe(0);
    }
  });
});
