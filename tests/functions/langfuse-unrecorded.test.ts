/**
 * What a sync run keeps when the database does not take its results: kept
 * while the database is away, recorded oldest first once it is back, and
 * dropped (its log line stays) when the database refuses it for good.
 */
import { describe, expect, it } from 'vitest';
import { DatabaseTimeoutError } from '../../supabase/functions/_shared/db/deadline.ts';
import {
  type ResultRecord,
  UnrecordedResults,
} from '../../supabase/functions/_shared/langfuse/run.ts';

function record(runId: string, write: () => Promise<unknown>): ResultRecord {
  return { runId, kind: 'score results', accepted: [runId], rows: 1, write };
}

describe('results a run could not record', () => {
  it('stay while the database is away, then go in oldest first', async () => {
    const kept = new UnrecordedResults();
    const written: string[] = [];
    let away = true;
    const write = (id: string) => async () => {
      if (away) throw new DatabaseTimeoutError('record', 500);
      written.push(id);
    };
    kept.add(record('a', write('a')));
    kept.add(record('b', write('b')));
    await expect(kept.flush(() => {})).rejects.toThrow(DatabaseTimeoutError);
    expect(kept.size).toBe(2);
    away = false;
    expect(await kept.flush(() => {})).toBe(2);
    expect(written).toEqual(['a', 'b']);
    expect(kept.size).toBe(0);
  });

  it('are dropped, logged, when the database refuses them for another reason', async () => {
    const kept = new UnrecordedResults();
    const logs: Record<string, unknown>[] = [];
    const refused = Object.assign(new Error('invalid input syntax for type uuid'), {
      code: '22P02',
    });
    kept.add(record('bad', () => Promise.reject(refused)));
    kept.add(record('good', () => Promise.resolve()));
    expect(await kept.flush((line) => logs.push(line))).toBe(1);
    expect(kept.size).toBe(0);
    expect(logs).toEqual([
      expect.objectContaining({ level: 'error', runId: 'bad', accepted: ['bad'] }),
    ]);
  });

  it('keep at most their limit, the oldest going first', () => {
    const kept = new UnrecordedResults(2);
    for (const id of ['a', 'b', 'c']) kept.add(record(id, () => Promise.resolve()));
    expect(kept.size).toBe(2);
  });
});
