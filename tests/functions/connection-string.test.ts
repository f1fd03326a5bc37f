/**
 * Which database the functions use and whether they prepare statements: the
 * pooler's string in DATABASE_URL wins over the direct SUPABASE_DB_URL, and
 * prepared statements are off in transaction mode (port 6543) unless told.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../supabase/functions/_shared/config.ts';
import { connectionString } from '../../supabase/functions/_shared/db/connection-string.ts';

const DIRECT = 'postgresql://postgres:secret@db.abcdefghijklmnop.supabase.co:5432/postgres';
const POOLER =
  'postgresql://postgres.abcdefghijklmnop:secret@aws-0-eu-central-1.pooler.supabase.com:6543/postgres';
const SESSION =
  'postgresql://postgres.abcdefghijklmnop:secret@aws-0-eu-central-1.pooler.supabase.com:5432/postgres';

describe('the connection string', () => {
  it('prefers DATABASE_URL (the pooler) over the direct SUPABASE_DB_URL', () => {
    expect(connectionString({ DATABASE_URL: POOLER, SUPABASE_DB_URL: DIRECT }, 'auto')).toEqual({
      url: POOLER,
      transactionPooler: true,
      prepare: false,
    });
    expect(connectionString({ SUPABASE_DB_URL: DIRECT }, 'auto')).toEqual({
      url: DIRECT,
      transactionPooler: false,
      prepare: true,
    });
    expect(connectionString({ DATABASE_URL: ' ', SUPABASE_DB_URL: DIRECT }, 'auto')?.url).toBe(
      DIRECT,
    );
    expect(connectionString({}, 'auto')).toBeNull();
  });

  it('prepares statements on a kept connection only, unless DB_PREPARE says', () => {
    expect(connectionString({ DATABASE_URL: SESSION }, 'auto')?.prepare).toBe(true);
    expect(connectionString({ DATABASE_URL: POOLER }, 'true')?.prepare).toBe(true);
    expect(connectionString({ SUPABASE_DB_URL: DIRECT }, 'false')?.prepare).toBe(false);
  });

  it('reaches the functions config, with a pool of four by default', () => {
    const pooled = loadConfig({ DATABASE_URL: POOLER, SUPABASE_DB_URL: DIRECT });
    expect(pooled).toMatchObject({ dbPoolMax: 4, dbPrepare: false });
    expect(pooled.database?.url).toBe(POOLER);
    expect(loadConfig({ SUPABASE_DB_URL: DIRECT, DB_POOL_MAX: '2' })).toMatchObject({
      dbPoolMax: 2,
      dbPrepare: true,
    });
    expect(() => loadConfig({ DB_PREPARE: 'maybe' })).toThrow(/DB_PREPARE/);
  });
});
