/** The one mapping from a trace row to its Langfuse trace id, in TypeScript and in SQL. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../supabase/functions/_shared/config.ts';
import { loadSyncConfig } from '../../supabase/functions/_shared/langfuse/config.ts';
import {
  langfuseTraceId,
  langfuseTraceUrl,
  traceIdFromLangfuse,
} from '../../supabase/functions/_shared/langfuse/trace-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

describe('the Langfuse trace id', () => {
  it('is the UUID as 32 lowercase hex digits, and back', () => {
    const id = '0B7E2A3C-1D2E-4F50-8A9B-0C1D2E3F4A5B';
    expect(langfuseTraceId(id)).toBe('0b7e2a3c1d2e4f508a9b0c1d2e3f4a5b');
    expect(traceIdFromLangfuse('0b7e2a3c1d2e4f508a9b0c1d2e3f4a5b')).toBe(id.toLowerCase());
    expect(langfuseTraceUrl('https://cloud.langfuse.com/', id)).toBe(
      'https://cloud.langfuse.com/trace/0b7e2a3c1d2e4f508a9b0c1d2e3f4a5b',
    );
  });

  it('refuses what is not a trace id', () => {
    expect(() => langfuseTraceId('0b7e2a3c1d2e4f508a9b0c1d2e3f4a5b')).toThrow(/UUID/);
    expect(() => langfuseTraceId('')).toThrow();
    expect(() => traceIdFromLangfuse('0b7e2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b')).toThrow();
    expect(() => traceIdFromLangfuse('0B7E2A3C1D2E4F508A9B0C1D2E3F4A5B')).toThrow();
  });

  it('is the same in SQL (public.langfuse_trace_id) for any UUID', async () => {
    const ids = Array.from({ length: 200 }, () => randomUUID());
    const rows = await db.sql<{ id: string; langfuse: string }[]>`
      select id::text as id, public.langfuse_trace_id(id) as langfuse from unnest(${ids}::uuid[]) as id
    `;
    expect(rows).toHaveLength(200);
    for (const row of rows) expect(row.langfuse).toBe(langfuseTraceId(row.id));
  });
});

describe('APP_ENVIRONMENT', () => {
  const sync = (name: string) =>
    loadSyncConfig({ LANGFUSE_PUBLIC_KEY: 'pk', LANGFUSE_SECRET_KEY: 'sk', APP_ENVIRONMENT: name });

  it('takes the names Langfuse keeps as they are', () => {
    for (const name of ['production', 'staging-2', 'dev_eu', 'a'.repeat(40)]) {
      expect(loadConfig({ APP_ENVIRONMENT: name }).environment).toBe(name);
      expect(sync(name).environment).toBe(name);
    }
    expect(loadConfig({}).environment).toBe('development');
  });

  it('refuses at start the names Langfuse would rewrite (lowercase, strip) or file under "default"', () => {
    for (const name of ['Production', 'prod env', 'a'.repeat(41), 'langfuse-prod', 'prod.eu']) {
      expect(() => loadConfig({ APP_ENVIRONMENT: name })).toThrow(/APP_ENVIRONMENT/);
      expect(() => sync(name)).toThrow(/APP_ENVIRONMENT/);
    }
  });
});
