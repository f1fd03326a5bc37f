/**
 * The Langfuse sync in the functions server `npm start` runs (Deno, every
 * function in one process), against a Langfuse that is slow, a Postgres that
 * ends the sync's sessions, and a server killed between send and record: the
 * server keeps answering, and nothing is sent twice but in the documented
 * window (a run that died after Langfuse accepted, before it recorded).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port.ts';
import { type LangfuseServer, startLangfuseServer } from '../../local/langfuse/server.ts';
import {
  type FunctionsServer,
  startFunctionsServer,
} from '../../local/tooling/functions-server.ts';
import { createKeys, type LocalKeys, platformEnv } from '../../local/tooling/keys.ts';
import { insertPendingFeedback } from '../support/rows.ts';
import { scoreDeliveries } from '../support/sync-fixture.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const DB_TIMEOUT_MS = 500;

let db: TestDatabase;
let langfuse: LangfuseServer;
let keys: LocalKeys;
let server: FunctionsServer;
let port: number;
const serverLog: string[] = [];

function start(): Promise<FunctionsServer> {
  return startFunctionsServer({
    port,
    env: {
      ...platformEnv(keys, `http://127.0.0.1:${port}`, db.url),
      LANGFUSE_PUBLIC_KEY: langfuse.publicKey,
      LANGFUSE_SECRET_KEY: langfuse.secretKey,
      LANGFUSE_BASE_URL: langfuse.url,
      LANGFUSE_TIMEOUT_MS: '4000',
      // Postgres ends a transaction left idle for twice this: 1 s.
      DB_TIMEOUT_MS: String(DB_TIMEOUT_MS),
      SYNC_RECORD_BUDGET_MS: '3000',
    },
    onLog: (line) => serverLog.push(line),
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  langfuse = await startLangfuseServer();
  keys = await createKeys();
  port = await freePort();
  server = await start();
}, 180_000);
afterAll(async () => {
  await server?.stop();
  await langfuse?.stop();
  await db?.drop();
});
beforeEach(async () => {
  langfuse.reset();
  await db.sql`delete from public.langfuse_traces`;
  await db.sql`delete from public.langfuse_batch_runs`;
});

const sync = () =>
  fetch(`${server.url}/functions/v1/langfuse-sync`, {
    method: 'POST',
    headers: { apikey: keys.secretKey },
  });
const health = () => fetch(`${server.url}/functions/v1/health`);

describe('the sync in the functions server', () => {
  it('survives a Langfuse slower than the idle-in-transaction limit', async () => {
    const { scoreIds } = await insertPendingFeedback(db.sql, 3);
    langfuse.faults.delayMs = DB_TIMEOUT_MS * 2 + 500;
    const res = await sync();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ scoresSent: 3, tracesExported: 3 });
    expect((await health()).status).toBe(200);
    expect(server.process.exitCode).toBeNull();
    expect([...scoreDeliveries(langfuse).keys()].sort()).toEqual([...scoreIds].sort());
  });

  it('survives Postgres ending its sessions while Langfuse holds a batch', async () => {
    const { scoreIds } = await insertPendingFeedback(db.sql, 3);
    let terminated = 0;
    langfuse.faults.beforeAnswer = async (kind) => {
      if (kind !== 'ingestion') return;
      langfuse.faults.beforeAnswer = null;
      const rows = await db.sql`
        select pg_terminate_backend(pid) as done from pg_stat_activity
        where application_name = 'ai-coach-functions' and datname = current_database()
      `;
      terminated = rows.length;
    };
    const res = await sync();
    expect(terminated).toBeGreaterThan(0);
    // The record is retried on a new connection within its budget.
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ scoresSent: 3 });
    expect((await health()).status).toBe(200);
    expect(server.process.exitCode).toBeNull();
    expect([...scoreDeliveries(langfuse).values()]).toEqual([1, 1, 1]);
    expect(scoreIds).toHaveLength(3);
    const [row] =
      await db.sql`select count(*)::int as n from public.langfuse_batch_runs where completed_at is null`;
    expect(row?.n).toBe(0);
  });

  it('a server killed between send and record: rows wait out the lease, then go once more', async () => {
    const { scoreIds } = await insertPendingFeedback(db.sql, 3);
    const killed = server;
    langfuse.faults.beforeAnswer = async (kind) => {
      if (kind !== 'ingestion') return;
      langfuse.faults.beforeAnswer = null;
      const exited = new Promise((resolve) => killed.process.once('exit', resolve));
      killed.process.kill('SIGKILL');
      await exited;
    };
    await sync().catch(() => null);
    expect(scoreDeliveries(langfuse).size).toBe(3);
    server = await start();

    // The dead run's lease still holds its rows: a new run does not send them.
    const during = await (await sync()).json();
    expect(during).toMatchObject({ scoresSent: 0, abandonedRuns: [] });
    expect([...scoreDeliveries(langfuse).values()]).toEqual([1, 1, 1]);

    // Time passes (the lease and the run's lifetime): as if minutes went by.
    await db.sql`
      update public.langfuse_scores set claimed_until = now() - interval '1 second'
      where claimed_by is not null
    `;
    await db.sql`
      update public.langfuse_batch_runs set started_at = started_at - interval '10 minutes'
      where completed_at is null
    `;
    const after = await (await sync()).json();
    expect(after).toMatchObject({ scoresSent: 3 });
    expect(after.abandonedRuns).toHaveLength(1);
    // The documented window: sent twice, one score each in Langfuse (upsert by id).
    expect([...scoreDeliveries(langfuse).values()]).toEqual([2, 2, 2]);
    expect([...langfuse.scores.keys()].sort()).toEqual([...scoreIds].sort());
    const [open] =
      await db.sql`select count(*)::int as n from public.langfuse_batch_runs where completed_at is null`;
    expect(open?.n).toBe(0);
  });
});
