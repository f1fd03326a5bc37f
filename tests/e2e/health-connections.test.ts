/**
 * health, served as its own function (as a hosted isolate serves it), under a
 * burst of anonymous calls: it answers every one and holds one database
 * connection at most.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port.ts';
import {
  type FunctionsServer,
  startFunctionsServer,
} from '../../local/tooling/functions-server.ts';
import { createKeys, platformEnv } from '../../local/tooling/keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let server: FunctionsServer;

beforeAll(async () => {
  db = await createTestDatabase();
  const port = await freePort();
  server = await startFunctionsServer({
    port,
    env: {
      ...platformEnv(await createKeys(), `http://127.0.0.1:${port}`, db.url),
      FUNCTIONS: 'health',
    },
    onLog: () => {},
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('health under a burst', () => {
  it('answers 200 to all, from one connection at most', async () => {
    expect(server.functions).toEqual(['health']);
    const answers = await Promise.all(
      Array.from({ length: 60 }, () =>
        fetch(`${server.url}/functions/v1/health`).then(async (res) => ({
          status: res.status,
          body: (await res.json()) as { db: string },
        })),
      ),
    );
    expect(answers.every((a) => a.status === 200 && a.body.db === 'ok')).toBe(true);
    const [row] = await db.sql`
      select count(*)::int as n from pg_stat_activity
      where application_name = 'ai-coach-functions' and datname = current_database()
    `;
    expect(row?.n).toBe(1);
  });
});
